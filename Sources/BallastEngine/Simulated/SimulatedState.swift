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

extension SimulatedState {
  /// Why this state cannot be the hypervisors of `cluster` (the cluster file it is used with),
  /// in an operator's words; empty when it can.
  ///
  /// A state file is written by Ballast but read back as untrusted input: it must be for the
  /// same cluster (name, hosts, datastores, each VM's size), every VM must be on a known host
  /// with exactly one owner and run at most once, and every number must be in range.
  public func problems(against cluster: Cluster) -> [String] {
    var problems: [String] = []
    let saved = self.cluster
    if saved.name != cluster.name {
      problems.append("it was made for cluster \(SafeName.quoted(saved.name)), not \(SafeName.quoted(cluster.name))")
    }
    problems += Self.differences(
      "host", saved.hosts.map(\.name), cluster.hosts.map(\.name))
    problems += Self.differences("datastore", saved.datastores.map(\.name), cluster.datastores.map(\.name))
    problems += Self.differences("VM", saved.vms.map(\.name), cluster.vms.map(\.name))
    let fileHosts = Dictionary(cluster.hosts.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    for host in saved.hosts {
      guard let file = fileHosts[host.name] else { continue }
      if host.cores != file.cores || host.memory != file.memory || host.cpuModel != file.cpuModel
        || host.migrationBandwidth != file.migrationBandwidth || Set(host.datastores) != Set(file.datastores)
      {
        problems.append("host \(host.name) has another size, CPU, link or datastores than in the cluster file")
      }
    }
    let fileVMs = Dictionary(cluster.vms.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    for vm in saved.vms {
      if fileHosts[vm.host] == nil { problems.append("VM \(vm.name) is on unknown host \(SafeName.quoted(vm.host))") }
      if let file = fileVMs[vm.name],
        vm.vcpus != file.vcpus || vm.memory != file.memory || vm.disks.map(\.size) != file.disks.map(\.size)
          || vm.dirtyRate != file.dirtyRate || vm.workingSet != file.workingSet
      {
        // Not its CPU model: a cold move starts a VM with its new host's.
        problems.append("VM \(vm.name) has another size or other disks than in the cluster file")
      }
      if !(0...1).contains(vm.usage.cpu) || !(0...1).contains(vm.usage.memory) {
        problems.append("VM \(vm.name) has a load outside 0…1")
      }
      let instances = instances(of: vm.name)
      if instances.isEmpty { problems.append("VM \(vm.name) is on no host") }
      for instance in instances where fileHosts[instance.host] == nil {
        problems.append("VM \(vm.name) has an instance on unknown host \(SafeName.quoted(instance.host))")
      }
    }
    for name in instances.keys where fileVMs[name] == nil {
      problems.append("it holds instances of VM \(SafeName.quoted(name)), which the cluster file does not have")
    }
    problems += violations()
    problems += numberProblems()
    return problems
  }

  /// Throws ``SimulationError`` with every reason this state (read from `stateFile`) cannot be
  /// the hypervisors of `cluster`; see ``problems(against:)``.
  public func check(against cluster: Cluster, stateFile: String) throws {
    let problems = problems(against: cluster)
    guard !problems.isEmpty else { return }
    let shown = problems.prefix(10).joined(separator: "; ") + (problems.count > 10 ? "; …" : "")
    throw SimulationError(
      "the simulated state \(stateFile) does not match cluster \(cluster.name): \(shown)",
      hint: "use the state file made with this cluster file, or delete it to start from the cluster file")
  }

  /// Numbers out of range: clocks, counters, reservations, link overrides.
  private func numberProblems() -> [String] {
    var problems: [String] = []
    if !elapsed.isFinite || !Limits.clockTime.contains(elapsed) {
      problems.append("its elapsed time \(elapsed) is not a time (\(Limits.clockTime.phrase) seconds)")
    }
    if let clockTime, !clockTime.isFinite || !Limits.clockTime.contains(clockTime) {
      problems.append("its clock time \(clockTime) is not a time (\(Limits.clockTime.phrase) seconds since 1970)")
    }
    if !Self.reservationNumbers.contains(nextReservation) {
      problems.append("its next reservation number \(nextReservation) is not \(Self.reservationNumbers.phrase)")
    }
    for (token, reservation) in reservations.sorted(by: { $0.key < $1.key }) {
      if !(0...Limits.vmMemory.upperBound.bytes).contains(reservation.memory)
        || !(0...Limits.vcpus.upperBound).contains(reservation.vcpus)
      {
        problems.append("reservation \(SafeName.quoted(token)) holds more memory or vCPUs than any VM may have")
      }
    }
    for (host, bandwidth) in bandwidthOverrides.sorted(by: { $0.key < $1.key })
    where !(Bandwidth.zero...Limits.linkBandwidth.upperBound).contains(bandwidth) || !bandwidth.bytesPerSecond.isFinite
    {
      problems.append("the link of host \(SafeName.quoted(host)) is set to \(bandwidth), out of range")
    }
    return problems
  }

  /// Reservation numbers a state may hold: far more than any run makes, far from overflowing.
  static let reservationNumbers = 1...(1 << 52)

  /// Names in `saved` and `file` that only one has, or that `saved` repeats.
  private static func differences(_ kind: String, _ saved: [String], _ file: [String]) -> [String] {
    let savedSet = Set(saved)
    let fileSet = Set(file)
    var problems: [String] = []
    if savedSet.count != saved.count { problems.append("it names a \(kind) twice") }
    for name in fileSet.subtracting(savedSet).sorted() {
      problems.append("\(kind) \(SafeName.quoted(name)) of the cluster file is missing from it")
    }
    for name in savedSet.subtracting(fileSet).sorted() {
      problems.append("it has a \(kind) \(SafeName.quoted(name)) the cluster file does not")
    }
    return problems
  }
}
