import BallastEngine
import BallastModel

/// An in-memory hypervisor for `Reconciler` tests: where each VM is and in which state, set by
/// the test; each call is logged with the journal entry that was last written when it came.
actor ReconcileFakeDriver: Driver {
  /// VM → host → state.
  var placements: [String: [String: VMPlacementState]]
  /// Calls made, e.g. `activate web1 h2`, with the journal's last entry at that moment.
  private(set) var calls: [(call: String, lastJournalEntry: InMemoryJournal.Entry?)] = []
  /// Operations (`locate`, `activate`, …) that fail.
  var failing: Set<String> = []
  /// Operations that report success but change nothing (a buggy driver).
  var ignoring: Set<String> = []
  /// The backend finishes the switchover on its own when asked to abort it (libvirt's
  /// peer-to-peer migration past its point of no return): `resumeOnSource` leaves the VM paused
  /// on the destination only, and fails.
  var finishesSwitchoverOnAbort = false
  private let journal: InMemoryJournal
  nonisolated let switchover: SwitchoverStyle

  init(
    _ placements: [String: [String: VMPlacementState]], journal: InMemoryJournal, switchover: SwitchoverStyle = .staged
  ) {
    self.placements = placements
    self.journal = journal
    self.switchover = switchover
  }

  var callNames: [String] { calls.map(\.call) }

  func setFailing(_ operations: Set<String>) { failing = operations }
  func setIgnoring(_ operations: Set<String>) { ignoring = operations }
  func setFinishesSwitchoverOnAbort() { finishesSwitchoverOnAbort = true }

  private func perform(_ operation: String, _ detail: String) async throws {
    if failing.contains(operation) {
      throw DriverError(
        host: nil, "\(operation) failed: host unreachable", hint: "check the network", kind: .unreachable)
    }
    calls.append((call: "\(operation) \(detail)", lastJournalEntry: await journal.entries.last))
  }

  /// Applies `change` unless the operation is ignored.
  private func apply(_ operation: String, _ change: () -> Void) {
    if !ignoring.contains(operation) { change() }
  }

  func inventory() async throws -> Cluster { throw DriverError("inventory is not used by reconcile") }

  func locate(vm: String) async throws -> [VMPlacement] {
    if failing.contains("locate") { throw DriverError(vm: vm, "cannot reach the hypervisors") }
    return (placements[vm] ?? [:]).sorted { $0.key < $1.key }.map { VMPlacement(host: $0.key, state: $0.value) }
  }

  func reserve(_ request: MigrationRequest) async throws -> Reservation {
    throw DriverError("reserve is not used by reconcile")
  }

  func release(_ reservation: Reservation) async throws {
    let request = reservation.request
    try await perform("release", "\(request.vm) \(request.to)")
    apply("release") {
      if placements[request.vm]?[request.to] != .running { placements[request.vm]?[request.to] = nil }
    }
  }

  func transfer(
    _ reservation: Reservation, settings: LiveSettings, onEvent: @Sendable (TransferEvent) async -> Void
  ) async throws -> TransferResult {
    throw DriverError("transfer is not used by reconcile")
  }

  func resumeOnSource(_ reservation: Reservation) async throws {
    let request = reservation.request
    if finishesSwitchoverOnAbort {
      placements[request.vm] = [request.to: .paused]
      throw DriverError(vm: request.vm, host: request.from, "the migration completed: the VM is on \(request.to)")
    }
    try await perform("resumeOnSource", "\(request.vm) \(request.from)")
    placements[request.vm]?[request.from] = .running
  }

  func commit(_ reservation: Reservation) async throws {
    try await perform("commit", "\(reservation.request.vm) \(reservation.request.to)")
  }

  func activate(_ reservation: Reservation) async throws {
    let request = reservation.request
    try await perform("activate", "\(request.vm) \(request.to)")
    apply("activate") {
      placements[request.vm]?[request.to] = .running
      placements[request.vm]?[request.from] = nil
    }
  }

  func shutdown(vm: String, on host: String, timeout: TimeSpan) async throws {
    try await perform("shutdown", "\(vm) \(host)")
    placements[vm]?[host] = .stopped
  }

  func start(vm: String, on host: String) async throws {
    try await perform("start", "\(vm) \(host)")
    placements[vm]?[host] = .running
  }

  func copyFiles(_ request: MigrationRequest, reservation: Reservation) async throws -> CopyResult {
    throw DriverError("copyFiles is not used by reconcile")
  }

  func register(_ request: MigrationRequest, reservation: Reservation) async throws {
    throw DriverError("register is not used by reconcile")
  }

  func removeSource(_ request: MigrationRequest) async throws {
    try await perform("removeSource", "\(request.vm) \(request.from)")
    placements[request.vm]?[request.from] = nil
  }

  func discardDestination(_ request: MigrationRequest, reservation: Reservation) async throws {
    try await perform("discardDestination", "\(request.vm) \(request.to)")
    if placements[request.vm]?[request.to] != .running { placements[request.vm]?[request.to] = nil }
  }
}
