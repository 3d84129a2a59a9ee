import BallastModel
import Foundation

/// How the simulated VMs really behave, which the cluster file does not say: each VM's true
/// dirty rate, touched memory, shutdown and boot time, drawn from a seed.
///
/// The planner knows only the file's figures, so its first predictions are off; the simulated
/// hypervisors migrate with the true ones, and what the engine measures lets the cost model
/// learn them (deterministically: the same seed gives the same truth).
public struct SimulatedTruth: Sendable, Hashable, Codable {
  /// One VM's true behaviour.
  public struct Behaviour: Sendable, Hashable, Codable {
    /// Bytes per second the guest really dirties.
    public var dirtyRate: Double
    /// Bytes of memory the guest has really written.
    public var touchedMemory: Double
    /// Seconds a clean shutdown really takes.
    public var shutdownSeconds: Double
    /// Seconds a boot really takes.
    public var bootSeconds: Double

    public init(dirtyRate: Double, touchedMemory: Double, shutdownSeconds: Double, bootSeconds: Double) {
      self.dirtyRate = dirtyRate
      self.touchedMemory = touchedMemory
      self.shutdownSeconds = shutdownSeconds
      self.bootSeconds = bootSeconds
    }
  }

  /// The seed it was drawn from.
  public var seed: UInt64
  /// By VM name.
  public var vms: [String: Behaviour]

  public init(seed: UInt64, vms: [String: Behaviour]) {
    self.seed = seed
    self.vms = vms
  }

  /// A truth for every VM of `cluster` from `seed`: each figure the file's (or the default's)
  /// times a factor between ½ and 2 (log-uniform), the dirty rate of a VM that dirties nothing
  /// by the file a few MB/s, touched memory between the working set and the allocation.
  public static func drawn(for cluster: Cluster, seed: UInt64, timings: SimulationTimings) -> SimulatedTruth {
    var random = SeededRandom(seed: seed)
    var vms: [String: Behaviour] = [:]
    for vm in cluster.vms.sorted(by: { $0.name < $1.name }) where vms[vm.name] == nil {
      func factor() -> Double { Foundation.exp2(random.uniform(-1...1)) }
      let dirty = vm.dirtyRate.bytesPerSecond > 0 ? vm.dirtyRate.bytesPerSecond * factor() : random.uniform(1e6...8e6)
      let memory = vm.memory.double
      let touched = min(
        max(PreCopyParameters.touchedMemory(of: vm).double * factor(), vm.workingSet.double), memory)
      let shutdown = (vm.shutdownTime?.seconds ?? timings.shutdownSeconds) * factor()
      let boot = (vm.bootTime?.seconds ?? timings.bootSeconds) * factor()
      vms[vm.name] = Behaviour(dirtyRate: dirty, touchedMemory: touched, shutdownSeconds: shutdown, bootSeconds: boot)
    }
    return SimulatedTruth(seed: seed, vms: vms)
  }
}
