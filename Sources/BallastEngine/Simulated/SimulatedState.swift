import BallastModel

/// Everything the simulated hypervisors hold, as plain values: what a crashed process leaves
/// behind and a new process reads back.
///
/// `cluster` is the configuration and the owner's view: `vm.host` is the host that holds the
/// authoritative copy of the VM (the source until commitment, the destination after).
/// `instances` is what each host really has: during a migration a VM exists on two hosts.
public struct SimulatedState: Sendable, Hashable, Codable {
  public var cluster: Cluster
  /// VM name → its instances, one per host that holds something of it.
  public var instances: [String: [SimulatedInstance]]
  /// Reservation token → what it holds.
  public var reservations: [String: SimulatedReservation]
  /// Hosts that lost power: unreachable until the simulation is reset.
  public var downHosts: Set<String>
  /// Migration link bandwidth that replaced a host's configured one (a fault).
  public var bandwidthOverrides: [String: Bandwidth]
  /// Virtual seconds since the clock's origin when this state was written.
  public var elapsed: Double
  /// The writer's virtual time when this state was written (seconds since the Unix epoch), so
  /// the next process to use the state resumes its clock from there, never before it.
  public var clockTime: Double?
  /// The next reservation number.
  public var nextReservation: Int
  /// How the VMs really behave where the cluster file does not say (`nil`: as it says).
  public var truth: SimulatedTruth?

  /// The state of hypervisors that run `cluster` as described: one instance per VM.
  public init(cluster: Cluster, elapsed: Double = 0) {
    self.cluster = cluster
    var instances: [String: [SimulatedInstance]] = [:]
    for vm in cluster.vms {
      instances[vm.name] = [
        SimulatedInstance(
          host: vm.host, state: vm.state.isRunning ? .running : .stopped, owner: true,
          checksum: SimulatedState.checksum(of: vm))
      ]
    }
    self.instances = instances
    self.reservations = [:]
    self.downHosts = []
    self.bandwidthOverrides = [:]
    self.elapsed = elapsed
    self.nextReservation = 1
  }

  /// The instances of `vm` (empty when unknown).
  public func instances(of vm: String) -> [SimulatedInstance] { instances[vm] ?? [] }

  /// Broken invariants, in an operator's words; empty when every VM runs on at most one host,
  /// has exactly one owner, and its owner holds its data.
  public func violations() -> [String] {
    var problems: [String] = []
    for vm in cluster.vms {
      let all = instances(of: vm.name)
      let running = all.filter { $0.state == .running }
      if running.count > 1 {
        problems.append("VM \(vm.name) runs on \(running.map(\.host).joined(separator: " and "))")
      }
      let owners = all.filter(\.owner)
      if owners.count != 1 {
        problems.append("VM \(vm.name) has \(owners.count) owners (\(owners.map(\.host)))")
      }
      if let owner = owners.first {
        if owner.host != vm.host {
          problems.append("VM \(vm.name) is owned on \(owner.host) but the inventory says \(vm.host)")
        }
        if owner.checksum != SimulatedState.checksum(of: vm) {
          problems.append("VM \(vm.name) on \(owner.host) does not hold its data (checksum \(owner.checksum))")
        }
      }
      if let stray = running.first(where: { !$0.owner }) {
        problems.append("VM \(vm.name) runs on \(stray.host), which does not own it")
      }
    }
    return problems
  }

  /// A stable checksum of a VM's data (FNV-1a over its name, memory and disks).
  public static func checksum(of vm: VM) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    let text = "\(vm.name)|\(vm.memory.bytes)|" + vm.disks.map { "\($0.size.bytes)" }.joined(separator: ",")
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x0000_0100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
  }
}

/// What one host holds of one VM.
public struct SimulatedInstance: Sendable, Hashable, Codable {
  public var host: String
  public var state: VMPlacementState
  /// Whether this is the authoritative copy (exactly one per VM).
  public var owner: Bool
  /// Checksum of the data this copy holds; empty for an incoming container.
  public var checksum: String

  public init(host: String, state: VMPlacementState, owner: Bool, checksum: String) {
    self.host = host
    self.state = state
    self.owner = owner
    self.checksum = checksum
  }
}

/// Capacity and containers held on a destination for one migration.
public struct SimulatedReservation: Sendable, Hashable, Codable {
  public var request: MigrationRequest
  /// Memory held on the destination (0 for a VM that stays off).
  public var memory: Int64
  public var vcpus: Int
  public var phase: Phase
  /// Datastore each copied disk went to on the destination (cold moves).
  public var copiedDisks: [Disk]

  /// How far the migration behind a reservation got.
  public enum Phase: String, Sendable, Hashable, Codable {
    case reserved
    case transferring
    /// The destination holds the whole state (live) or verified copies (cold).
    case transferred
    case registered
    case committed
  }

  public init(request: MigrationRequest, memory: Int64, vcpus: Int, phase: Phase = .reserved) {
    self.request = request
    self.memory = memory
    self.vcpus = vcpus
    self.phase = phase
    self.copiedDisks = []
  }
}
