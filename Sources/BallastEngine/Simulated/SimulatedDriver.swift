import BallastModel

/// An in-memory hypervisor for a whole cluster, on a ``VirtualClock``.
///
/// It does what a real backend does, step by step and with the same intermediate states
/// (an empty incoming container, a source paused in stop-and-copy, a registered-but-off copy),
/// and writes its state through a ``SimulatedStateStore`` after every operation, so a process
/// killed mid-migration leaves those states behind for the next one to find.
///
/// Pre-copy runs the planner's cost model (``PreCopyRun``) round by round with the bandwidth
/// each round really gets: a host's migration link is shared equally between the transfers
/// through it, and rates are recomputed whenever a transfer starts or ends. With one migration
/// at a time and ``SimulationTimings/transfersOnly`` a migration takes exactly what
/// ``PreCopyRun/predict(_:bandwidth:)`` says.
///
/// Faults (``SimulatedFault``) make chosen operations fail, links slow down and hosts die, so
/// every rollback path can be tested.
///
/// Its live migration is ``SwitchoverStyle/staged`` (as QEMU's) unless it is made with
/// `switchover: .atomic`: then ``transfer(_:settings:onEvent:)`` also confirms the copy, gives
/// the VM to the destination and removes the source, as libvirt's migration call does, and
/// saves each step (source paused; destination complete with the source still there; source
/// gone, destination paused) so a process killed in the middle of the call leaves it behind. For load replay, ``setUsage(_:of:)``,
/// ``schedule(usage:of:at:)`` and ``advance(to:)`` change what ``inventory()`` reports.
public actor SimulatedDriver: Driver {
  /// The clock every operation waits on; give it to the engine.
  public nonisolated let clock: VirtualClock
  public nonisolated let timings: SimulationTimings
  /// How its live migrations reach commitment: stage by stage, or in one transfer call.
  public nonisolated let switchover: SwitchoverStyle

  var state: SimulatedState
  /// Where the state is written through; `nil` keeps it only in this actor (fastest).
  let store: (any SimulatedStateStore)?
  var links = LinkFlows()
  var vmPosition: [String: Int]
  var hostPosition: [String: Int]
  /// Host → the VMs that have an instance on it (kept in step with `state.instances`).
  var residents: [String: Set<String>] = [:]
  var faults: FaultBook
  /// Reservation token → the flow of its transfer in progress.
  var activeTransfers: [String: Int] = [:]
  /// Reservations whose transfer was told to stop by ``resumeOnSource(_:)`` (until released).
  var abortedTransfers: Set<String> = []
  /// Reservations whose atomic transfer is confirming the copy (after the link was closed).
  var switchingOver: Set<String> = []
  /// VMs whose cold move committed and that have not been started since.
  var awaitingStart: Set<String> = []

  /// Hypervisors running `cluster` as described, starting at the clock's elapsed time.
  /// With a `store`, the state is saved at once and after every operation.
  public init(
    cluster: Cluster, store: (any SimulatedStateStore)? = nil,
    timings: SimulationTimings = SimulationTimings(), faults: [SimulatedFault] = [],
    clock: VirtualClock = VirtualClock(), switchover: SwitchoverStyle = .staged
  ) throws {
    self.clock = clock
    self.timings = timings
    self.switchover = switchover
    self.store = store
    var state = SimulatedState(cluster: cluster, elapsed: clock.elapsed)
    state.clockTime = clock.now()
    self.state = state
    (vmPosition, hostPosition) = Self.positions(state.cluster)
    residents = Self.residents(state)
    self.faults = FaultBook(faults)
    try store?.save(state)
  }

  /// Hypervisors in the state a previous process left in `store`; the clock resumes at the
  /// saved time. With `cluster` (the cluster file), a state that does not match it (another
  /// cluster, VMs missing, on unknown hosts or on two hosts, numbers out of range) is refused
  /// with every reason (see ``SimulatedState/problems(against:)``).
  public init(
    resumingFrom store: any SimulatedStateStore, expecting cluster: Cluster? = nil,
    timings: SimulationTimings = SimulationTimings(), faults: [SimulatedFault] = [],
    origin: Double = VirtualClock.defaultOrigin, switchover: SwitchoverStyle = .staged
  ) throws {
    guard let saved = try store.load() else {
      throw SimulationError("no simulated state saved yet", hint: "start from the cluster file instead")
    }
    if let cluster { try saved.check(against: cluster, stateFile: (store as? FileStateStore)?.path ?? "saved") }
    self.clock = VirtualClock(origin: origin, elapsed: saved.elapsed)
    self.timings = timings
    self.switchover = switchover
    self.store = store
    self.state = saved
    (vmPosition, hostPosition) = Self.positions(saved.cluster)
    residents = Self.residents(saved)
    self.faults = FaultBook(faults)
  }

  static func positions(_ cluster: Cluster) -> (vms: [String: Int], hosts: [String: Int]) {
    var vms: [String: Int] = [:]
    for (i, vm) in cluster.vms.enumerated() where vms[vm.name] == nil { vms[vm.name] = i }
    var hosts: [String: Int] = [:]
    for (i, host) in cluster.hosts.enumerated() where hosts[host.name] == nil { hosts[host.name] = i }
    return (vms, hosts)
  }

  static func residents(_ state: SimulatedState) -> [String: Set<String>] {
    var residents: [String: Set<String>] = [:]
    for (vm, list) in state.instances {
      for instance in list { residents[instance.host, default: []].insert(vm) }
    }
    return residents
  }

  // MARK: Faults and replay

  /// Adds a fault to those still to fire.
  public func inject(_ fault: SimulatedFault) { faults.add(fault) }

  /// Sets the current load of `vm` now.
  public func setUsage(_ usage: Usage, of vm: String) {
    guard let i = vmPosition[vm] else { return }
    state.cluster.vms[i].usage = usage
  }

  /// Sets the load of `vm` at elapsed virtual time `at`.
  public func schedule(usage: Usage, of vm: String, at: Double) {
    faults.schedule(.usage(vm: vm, usage), at: at)
  }

  /// Waits until elapsed virtual time `elapsed`, applying what is due on the way. For callers
  /// that are not participants of the clock (a loop between rounds).
  public func advance(to elapsed: Double) async {
    await clock.advance(to: elapsed)
    applyDue()
  }

  /// Puts `host` in maintenance or takes it out.
  public func setMaintenance(_ on: Bool, host: String) throws {
    guard let i = hostPosition[host] else { throw DriverError(host: host, "no such host", kind: .refused) }
    state.cluster.hosts[i].state = on ? .maintenance : .active
    try persist()
  }

  /// Everything the hypervisors hold now.
  public func snapshot() -> SimulatedState {
    applyDue()
    var copy = state
    copy.elapsed = clock.elapsed
    return copy
  }

  // MARK: Inventory

  public func inventory() async throws -> Cluster {
    adoptStoredChanges()
    applyDue()
    var cluster = state.cluster
    cluster.hosts = cluster.hosts.filter { !state.downHosts.contains($0.name) }.map { host in
      var host = host
      if let override = state.bandwidthOverrides[host.name] { host.migrationBandwidth = override }
      return host
    }
    return cluster
  }

  public func locate(vm: String) async throws -> [VMPlacement] {
    adoptStoredChanges()
    await wait(timings.querySeconds)
    applyDue()
    if let kind = takeStageFault(vm, .preMigration) ?? takeStageFault(vm, .verifyOff) {
      throw DriverError(vm: vm, "the hypervisor did not answer the inventory query (injected fault)", kind: kind)
    }
    let all = state.instances(of: vm)
    let reachable = all.filter { !state.downHosts.contains($0.host) }
    if reachable.isEmpty, let lost = all.first {
      throw DriverError(
        vm: vm, host: lost.host, "the host holding the VM is unreachable", hint: "bring the host back, then retry",
        kind: .unreachable)
    }
    return reachable.map { VMPlacement(host: $0.host, state: $0.state) }
  }

  /// The driver's own checks: those a ``SimulatedFault/refuseMove(vm:host:check:reason:)`` fault sets.
  public func additionalChecks(_ move: PlannedMove, vm: VM, destination: Host) async throws -> NotPossible? {
    faults.refusal(vm: vm.name, to: destination.name).map { NotPossible(check: $0.check, reason: $0.reason) }
  }

  // MARK: Shared helpers

  /// The kind of the failure injected into `stage` of `vm` now, if one is due (and counts it).
  func takeStageFault(_ vm: String, _ stage: MigrationStage) -> DriverError.Kind? { faults.takeStageFault(vm, stage) }

  func takeChecksumFault(_ vm: String) -> Bool { faults.takeChecksumFault(vm) }

  func injected(_ vm: String, host: String?, _ what: String, kind: DriverError.Kind) -> DriverError {
    DriverError(vm: vm, host: host, "\(what) (injected fault)", kind: kind)
  }

  /// `reservation` with the token this driver knows it by. A recovering process has no token
  /// (the journal does not keep it): the reservation is then found from the VM and its hosts.
  func resolved(_ reservation: Reservation) -> Reservation {
    if state.reservations[reservation.token] != nil { return reservation }
    let request = reservation.request
    let match = state.reservations.filter {
      $0.value.request.vm == request.vm && $0.value.request.from == request.from && $0.value.request.to == request.to
    }
    guard let token = match.keys.sorted().last else { return reservation }
    return Reservation(request: reservation.request, token: token)
  }

  func requireReachable(_ host: String, vm: String? = nil) throws {
    guard hostPosition[host] != nil else { throw DriverError(vm: vm, host: host, "no such host", kind: .refused) }
    if state.downHosts.contains(host) {
      throw DriverError(
        vm: vm, host: host, "host is unreachable (powered off)", hint: "bring the host back, then retry",
        kind: .unreachable)
    }
  }

  func requireVM(_ name: String) throws -> VM {
    guard let i = vmPosition[name] else { throw DriverError(vm: name, "no such VM", kind: .refused) }
    return state.cluster.vms[i]
  }

  func updateVM(_ name: String, _ change: (inout VM) -> Void) {
    guard let i = vmPosition[name] else { return }
    change(&state.cluster.vms[i])
  }

  func updateInstance(_ vm: String, on host: String, _ change: (inout SimulatedInstance) -> Void) {
    guard var list = state.instances[vm], let i = list.firstIndex(where: { $0.host == host }) else { return }
    change(&list[i])
    state.instances[vm] = list
  }

  func instance(_ vm: String, on host: String) -> SimulatedInstance? {
    state.instances(of: vm).first { $0.host == host }
  }

  func addInstance(_ vm: String, _ instance: SimulatedInstance) {
    state.instances[vm, default: []].append(instance)
    residents[instance.host, default: []].insert(vm)
  }

  func removeInstance(_ vm: String, on host: String) {
    state.instances[vm]?.removeAll { $0.host == host }
    residents[host]?.remove(vm)
  }

  func bandwidth(of host: String) -> Double {
    if state.downHosts.contains(host) { return 0 }
    if let override = state.bandwidthOverrides[host] { return override.bytesPerSecond }
    guard let i = hostPosition[host] else { return 0 }
    return state.cluster.hosts[i].migrationBandwidth.bytesPerSecond
  }

  /// Memory held on `host` by containers that are not off (running, paused, incoming).
  func memoryInUse(on host: String) -> Int64 {
    var total: Int64 = 0
    for vm in residents[host] ?? [] {
      guard let copy = instance(vm, on: host), copy.state != .stopped, let i = vmPosition[vm] else { continue }
      total += state.cluster.vms[i].memory.bytes
    }
    return total
  }

  func requireFreeMemory(_ bytes: Int64, on host: String, vm: String) throws {
    guard let i = hostPosition[host] else { throw DriverError(vm: vm, host: host, "no such host", kind: .refused) }
    let capacity = state.cluster.hosts[i].memory.bytes
    let free = capacity - memoryInUse(on: host)
    if bytes > free {
      throw DriverError(
        vm: vm, host: host, "not enough free memory: needs \(ByteCount(bytes)), \(ByteCount(max(free, 0))) free",
        hint: "free memory on the host or choose another destination", kind: .refused)
    }
  }

  func persist() throws {
    guard let store else { return }
    state.elapsed = clock.elapsed
    state.clockTime = clock.now()
    do {
      try store.save(state)
    } catch {
      throw DriverError("cannot save the simulated state: \(error)", hint: "check the state file's directory")
    }
  }

  /// Saves, ignoring failures: for rollback paths that must not throw halfway.
  func persistQuietly() { try? persist() }
}
