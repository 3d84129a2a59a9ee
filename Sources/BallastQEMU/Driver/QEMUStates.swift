/// QEMU's migration status (QAPI `MigrationStatus`), as `query-migrate` reports it on either side.
public enum QEMUMigrationStatus: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  /// No migration yet (QEMU's `none`).
  case notStarted = "none"
  case setup
  case cancelling
  case cancelled
  /// Pre-copy rounds.
  case active
  case postcopyActive = "postcopy-active"
  case postcopyPaused = "postcopy-paused"
  case postcopyRecoverSetup = "postcopy-recover-setup"
  case postcopyRecover = "postcopy-recover"
  case completed
  case failed
  case colo
  /// Paused before the switchover (`pause-before-switchover`): the source waits for `migrate-continue`.
  case preSwitchover = "pre-switchover"
  /// The final copy of device state, with the guest paused.
  case device
  case waitUnplug = "wait-unplug"
  /// A status this driver does not know (a newer QEMU).
  case unknown

  /// The status QEMU reported (`nil`, before any migration: ``notStarted``).
  public init(reported: String?) {
    self = reported.map { Self(rawValue: $0) ?? .unknown } ?? .notStarted
  }

  /// Whether a migration is under way (cancel it before resuming the source).
  public var isInProgress: Bool {
    switch self {
    case .setup, .active, .preSwitchover, .device, .cancelling, .waitUnplug: true
    default: false
    }
  }

  /// QEMU's name of the status.
  public var description: String { rawValue }
}

/// QEMU's run state (QAPI `RunState`), as `query-status` reports it.
public enum QEMURunState: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  case debug
  /// Started with `-incoming`, waiting for (or loading) a migration.
  case inmigrate
  case internalError = "internal-error"
  case ioError = "io-error"
  case paused
  /// The source after a completed outgoing migration.
  case postmigrate
  /// Started with `-S`, not yet run.
  case prelaunch
  case finishMigrate = "finish-migrate"
  case restoreVM = "restore-vm"
  case running
  case saveVM = "save-vm"
  case shutdown
  case suspended
  case watchdog
  case guestPanicked = "guest-panicked"
  case colo
  /// A state this driver does not know (a newer QEMU), or none reported.
  case unknown

  /// The state QEMU reported.
  public init(reported: String?) {
    self = reported.flatMap { Self(rawValue: $0) } ?? .unknown
  }

  /// QEMU's name of the state.
  public var description: String { rawValue }
}

/// The state of a `calc-dirty-rate` measurement (QAPI `DirtyRateStatus`).
enum DirtyRateStatus: String, Sendable, Hashable {
  case unstarted
  case measuring
  case measured
}
