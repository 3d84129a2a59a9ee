import BallastModel

/// What a hypervisor backend does for the engine. The engine owns the order of stages, the
/// journal and the rollback decisions; a driver only does the work it is asked for.
///
/// Implementations: ``SimulatedDriver`` (in memory, virtual clock) and `QEMUDriver` (real
/// `qemu-system-x86_64` processes). Every method throws ``DriverError`` only, with context on
/// failure and a ``DriverError/Kind``: the engine retries only ``DriverError/Kind/transient``
/// failures of the steps it must not give up lightly (activation, start, rollback steps).
///
/// Four requirements have defaults a driver overrides when it differs: ``switchover`` (`.staged`),
/// ``additionalChecks(_:vm:destination:)`` (none), ``locateSettled(vm:)`` (``locate(vm:)``) and
/// ``outage(of:)`` (not known).
public protocol Driver: Sendable {
  /// How this driver's live migration reaches commitment, which decides how the engine runs
  /// stages 2–4 and how `reconcile` reads what a killed process left. Defaults to
  /// ``SwitchoverStyle/staged``.
  var switchover: SwitchoverStyle { get }

  /// The driver's own stage-0 checks of `move`, after the shared ones passed: `nil` when it
  /// can run, else why not (e.g. libvirt's CPU comparison of `vm` with `destination`, where
  /// Ballast's model table does not know the CPU). Run by the engine's stage 0 and by
  /// ``MigrationEngine/check(_:)`` (dry runs). Throws ``DriverError`` when the driver cannot
  /// answer. Defaults to no checks.
  func additionalChecks(_ move: PlannedMove, vm: VM, destination: Host) async throws -> NotPossible?

  /// The cluster as the hypervisors see it now: hosts, VMs, where each VM runs, its state
  /// and current load.
  func inventory() async throws -> Cluster

  /// Where `vm` exists right now: every host holding a definition of it, with its state there.
  /// `reconcile` uses this after a crash.
  func locate(vm: String) async throws -> [VMPlacement]

  /// Where `vm` is once no migration of it is still running in the hypervisors: what
  /// `reconcile` reads. A hypervisor that migrates on its own (libvirt peer-to-peer) goes on
  /// after the process that started it died; reading it mid-way would show a source gone and
  /// a destination not yet ready. Defaults to ``locate(vm:)`` (nothing migrates by itself).
  func locateSettled(vm: String) async throws -> [VMPlacement]

  // MARK: Live migration

  /// Stage 1: reserves capacity on `request.to` and creates an empty, paused container
  /// there, ready to receive (QEMU: a process started with `-incoming defer`).
  func reserve(_ request: MigrationRequest) async throws -> Reservation

  /// Undoes ``reserve(_:)``: removes the empty container and frees the capacity.
  func release(_ reservation: Reservation) async throws

  /// Stages 2–3: iterative pre-copy while the VM runs, then stop-and-copy. Returns when the
  /// destination holds the complete state and both sides are paused. `onEvent` is awaited
  /// for each round and before the stop-and-copy pause begins, so the engine can journal.
  /// Convergence follows `settings` (throttle, raise the limit, abort): on abort or any error
  /// it throws, and the VM is left running on its source.
  ///
  /// For a driver whose ``switchover`` is ``SwitchoverStyle/atomic``: stages 2–4. It returns
  /// once the source is gone and the destination holds the VM, paused (committed); the
  /// `TransferResult` carries the downtime and totals the backend measured. `onEvent` reports
  /// rounds, and `.stopAndCopyStarting` if the backend says when the pause begins (optional).
  /// On any error before that point it throws with the VM still on its source (running, or
  /// paused where ``resumeOnSource(_:)`` resumes it). ``resumeOnSource(_:)``, called while it
  /// runs, aborts it (libvirt: `virDomainAbortJob`).
  func transfer(
    _ reservation: Reservation, settings: LiveSettings,
    onEvent: @Sendable (TransferEvent) async -> Void
  ) async throws -> TransferResult

  /// Rollback before commitment: cancels any transfer and resumes the VM on its source.
  func resumeOnSource(_ reservation: Reservation) async throws

  /// Stage 4: the destination confirms it holds a consistent copy; the source copy is
  /// given up (it stays paused until activation removes it).
  ///
  /// Never called for a driver whose ``switchover`` is ``SwitchoverStyle/atomic``: neither by the
  /// engine (its ``transfer(_:settings:onEvent:)`` commits) nor by `reconcile` (which rolls back
  /// an uncommitted atomic switchover instead of asking the destination again). Such a driver
  /// may throw.
  func commit(_ reservation: Reservation) async throws

  /// Stage 5: resumes the VM on the destination, announces it on the network, and removes
  /// the paused source (for an atomic driver the source is already gone: it resumes the
  /// paused destination).
  func activate(_ reservation: Reservation) async throws

  /// The guest's outage in the live move of `reservation`, seconds, once ``activate(_:)``
  /// resumed it: from the source's stop to the destination's resume. A hypervisor's own
  /// downtime ends when the last byte left (QEMU) or when the destination holds the state
  /// (libvirt with a paused destination), not when the guest runs again. `nil` when the driver
  /// cannot tell (the default): the transfer's downtime stands.
  func outage(of reservation: Reservation) async -> Double?

  // MARK: Cold migration and power

  /// Shuts `vm` down on `host` (clean shutdown, forced after `timeout`).
  func shutdown(vm: String, on host: String, timeout: TimeSpan) async throws

  /// Starts `vm` on `host`.
  func start(vm: String, on host: String) async throws

  /// Stage 2 (cold): copies the VM's configuration, logs and `request.disksToCopy` to the
  /// destination and verifies each copy. Returns what was copied with checksums.
  func copyFiles(_ request: MigrationRequest, reservation: Reservation) async throws -> CopyResult

  /// Stage 3 (cold): registers the copied VM on the destination (defined, off).
  func register(_ request: MigrationRequest, reservation: Reservation) async throws

  /// Stage 4 (cold): removes the source definition and the source copies of moved files.
  /// Called only after ``copyFiles(_:reservation:)`` verified the destination copy.
  func removeSource(_ request: MigrationRequest) async throws

  /// Rollback of a cold move before commitment: removes anything copied or registered on
  /// the destination and releases the reservation.
  func discardDestination(_ request: MigrationRequest, reservation: Reservation) async throws
}

extension Driver {
  /// Default: ``SwitchoverStyle/staged``, the engine's own stage-by-stage protocol.
  public var switchover: SwitchoverStyle { .staged }

  /// Default: no checks of the driver's own.
  public func additionalChecks(_ move: PlannedMove, vm: VM, destination: Host) async throws -> NotPossible? { nil }

  /// Default: ``locate(vm:)``, for drivers whose migrations stop with the process that runs them.
  public func locateSettled(vm: String) async throws -> [VMPlacement] { try await locate(vm: vm) }

  /// Default: not known; the transfer's downtime is the outage.
  public func outage(of reservation: Reservation) async -> Double? { nil }
}

/// How a driver's live migration gets from pre-copy to a committed destination.
public enum SwitchoverStyle: String, Sendable, Hashable, Codable, CaseIterable {
  /// Stage by stage (QEMU over QMP, the simulated driver by default): ``Driver/transfer(_:settings:onEvent:)``
  /// returns with both sides paused and the source intact; the engine then journals and calls
  /// ``Driver/commit(_:)``, then ``Driver/activate(_:)``.
  case staged
  /// In one call (libvirt's `virDomainMigrate3` with `LIVE | PERSIST_DEST | UNDEFINE_SOURCE |
  /// PAUSED`): ``Driver/transfer(_:settings:onEvent:)`` runs pre-copy, stop-and-copy and the
  /// backend's own confirmation, and returns with the source gone and the destination paused.
  /// The engine journals the intents of pre-copy, stop-and-copy and commitment before the call
  /// (so a crash anywhere in it leaves the journal at "commitment begun"), records the three as
  /// succeeded from what the call reports, never calls ``Driver/commit(_:)``, and activates as
  /// usual. `reconcile` reads "source gone, destination paused" as committed (it activates) and
  /// "source still there" as not committed (it rolls back through ``Driver/resumeOnSource(_:)``,
  /// which must also abort a backend job still running, and leaves the move unresolved if that
  /// fails).
  case atomic
}

/// What the engine asks a driver to move.
public struct MigrationRequest: Sendable, Hashable, Codable {
  public var vm: String
  public var from: String
  public var to: String
  public var kind: MigrationKind
  /// Disks the destination does not mount, copied during a cold move.
  public var disksToCopy: [Disk]
  /// Most bandwidth a cold copy may use (the policy's `bandwidthCap`; `nil`: the link's share).
  /// Live transfers take theirs from ``LiveSettings``.
  public var bandwidthCap: Bandwidth?

  public init(
    vm: String, from: String, to: String, kind: MigrationKind, disksToCopy: [Disk] = [],
    bandwidthCap: Bandwidth? = nil
  ) {
    self.vm = vm
    self.from = from
    self.to = to
    self.kind = kind
    self.disksToCopy = disksToCopy
    self.bandwidthCap = bandwidthCap
  }
}

/// Capacity held on a destination for one incoming VM.
public struct Reservation: Sendable, Hashable, Codable {
  public var request: MigrationRequest
  /// Driver-specific handle (QEMU: the incoming process's QMP socket).
  public var token: String

  public init(request: MigrationRequest, token: String) {
    self.request = request
    self.token = token
  }
}

/// Settings of one live transfer, from the policy.
public struct LiveSettings: Sendable, Hashable, Codable {
  public var downtimeLimit: TimeSpan
  /// Bandwidth cap for this migration (`nil`: the link's share).
  public var bandwidthCap: Bandwidth?
  public var convergence: Convergence

  public init(downtimeLimit: TimeSpan, bandwidthCap: Bandwidth?, convergence: Convergence) {
    self.downtimeLimit = downtimeLimit
    self.bandwidthCap = bandwidthCap
    self.convergence = convergence
  }
}

/// Progress of a live transfer.
public enum TransferEvent: Sendable, Hashable {
  /// A pre-copy round ended.
  case round(PreCopyRound)
  /// The guest is about to be paused for the final copy.
  case stopAndCopyStarting(remaining: Double)
}

/// Figures of one pre-copy round.
public struct PreCopyRound: Sendable, Hashable, Codable {
  public var index: Int
  public var bytesSent: Double
  /// Bytes dirtied while the round was sent.
  public var bytesDirtied: Double
  /// Bytes still dirty after the round.
  public var remaining: Double
  public var seconds: Double
  public var bandwidthBytesPerSecond: Double
  public var throttle: Double

  public init(
    index: Int, bytesSent: Double, bytesDirtied: Double, remaining: Double, seconds: Double,
    bandwidthBytesPerSecond: Double, throttle: Double
  ) {
    self.index = index
    self.bytesSent = bytesSent
    self.bytesDirtied = bytesDirtied
    self.remaining = remaining
    self.seconds = seconds
    self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
    self.throttle = throttle
  }
}

/// The outcome of a completed transfer (destination holds everything, both sides paused).
public struct TransferResult: Sendable, Hashable, Codable {
  public var rounds: Int
  public var bytesSent: Double
  public var totalSeconds: Double
  public var downtimeMs: Double
  public var throttle: Double

  public init(rounds: Int, bytesSent: Double, totalSeconds: Double, downtimeMs: Double, throttle: Double) {
    self.rounds = rounds
    self.bytesSent = bytesSent
    self.totalSeconds = totalSeconds
    self.downtimeMs = downtimeMs
    self.throttle = throttle
  }
}

/// Files a cold migration copied, with their verification.
public struct CopyResult: Sendable, Hashable, Codable {
  public var bytes: Double
  public var seconds: Double
  /// File or disk name → checksum, equal on both sides.
  public var checksums: [String: String]

  public init(bytes: Double, seconds: Double, checksums: [String: String]) {
    self.bytes = bytes
    self.seconds = seconds
    self.checksums = checksums
  }
}

/// Where a VM exists: a host and its state there.
public struct VMPlacement: Sendable, Hashable, Codable {
  public var host: String
  public var state: VMPlacementState

  public init(host: String, state: VMPlacementState) {
    self.host = host
    self.state = state
  }
}

/// A VM's state on one host, as the hypervisor reports it.
public enum VMPlacementState: String, Sendable, Hashable, Codable {
  case running
  /// Paused: an incoming container, or a source in stop-and-copy / after commitment.
  case paused
  /// Defined but off.
  case stopped
  /// An empty incoming container that never received state.
  case incoming
}

/// A driver failure, with what happened, where, and whether trying again can help.
public struct DriverError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What sort of failure it is: the engine retries only ``transient`` ones.
  public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The backend refused the request as it stands (no such VM or host, the VM is not in the
    /// state the step needs, not enough room): the same call fails again until something changes.
    case refused
    /// A passing failure (a timeout, a busy monitor, a step that may work a moment later): the
    /// same call may succeed if tried again.
    case transient
    /// The host, its hypervisor or the VM's process cannot be reached (powered off, connection
    /// lost): nothing works there until it is back.
    case unreachable
    /// The step was tried and failed (an I/O error, a corrupt copy, a backend error): trying
    /// the same again is not expected to help.
    case failed

    /// Whether the same call may succeed if tried again.
    public var isRetryable: Bool { self == .transient }
  }

  public var vm: String?
  public var host: String?
  /// What happened, in an operator's words.
  public var message: String
  /// What to do about it, when something can be done.
  public var hint: String?
  /// Whether trying again can help.
  public var kind: Kind

  public init(vm: String? = nil, host: String? = nil, _ message: String, hint: String? = nil, kind: Kind = .failed) {
    self.vm = vm
    self.host = host
    self.message = message
    self.hint = hint
    self.kind = kind
  }

  public var description: String {
    var context: [String] = []
    if let vm { context.append("VM \(vm)") }
    if let host { context.append("host \(host)") }
    let prefix = context.isEmpty ? "" : context.joined(separator: ", ") + ": "
    return prefix + message + (hint.map { " — \($0)" } ?? "")
  }
}
