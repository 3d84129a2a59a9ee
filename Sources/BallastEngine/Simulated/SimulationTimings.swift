import BallastModel

/// How long the simulated hypervisors take for the steps that are not link transfers.
public struct SimulationTimings: Sendable, Hashable, Codable {
  /// Starting an empty incoming container (QEMU `-incoming`) or holding capacity.
  public var reserveSeconds: Double = 0.2
  /// Removing a container or a reservation.
  public var releaseSeconds: Double = 0.05
  /// The destination confirming a consistent copy.
  public var commitSeconds: Double = 0.01
  /// Resuming on the destination and announcing the VM on the network.
  public var activateSeconds: Double = 0.05
  /// Resuming a paused source after a rollback.
  public var resumeSeconds: Double = 0.01
  /// Defining a VM on a host.
  public var registerSeconds: Double = 0.5
  /// Removing a definition and its files.
  public var removeSeconds: Double = 0.1
  /// The fixed part of a live migration's pause (after the last pages are copied).
  public var pauseSeconds: Double = CostPriors().pauseSeconds
  /// A clean guest shutdown, for a VM whose description gives none.
  public var shutdownSeconds: Double = CostPriors().shutdownSeconds
  /// A guest boot, for a VM whose description gives none.
  public var bootSeconds: Double = CostPriors().bootSeconds
  /// Size of a VM's configuration and logs, copied by a cold move.
  public var configurationBytes: Double = CostPriors().configurationBytes.double
  /// A transfer that makes no progress for this long (no bandwidth) fails.
  public var stallTimeoutSeconds: Double = 60
  /// A hypervisor answering where a VM is (``SimulatedDriver/locate(vm:)``, part of stage 0).
  public var querySeconds: Double = 0

  public init() {}

  /// Timings where only link transfers take time: simulated migrations then take exactly
  /// what the cost model predicts.
  public static var transfersOnly: SimulationTimings {
    var timings = SimulationTimings()
    timings.reserveSeconds = 0
    timings.releaseSeconds = 0
    timings.commitSeconds = 0
    timings.activateSeconds = 0
    timings.resumeSeconds = 0
    timings.registerSeconds = 0
    timings.removeSeconds = 0
    timings.pauseSeconds = 0
    return timings
  }
}
