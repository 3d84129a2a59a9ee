import Foundation
import GRDB
import Logging
import Synchronization

/// The history of plans, moves, stages, host samples, host state changes and leases, in an
/// SQLite file or a PostgreSQL database (see ``HistoryTarget``).
///
/// Every call is one transaction, committed before it returns, so the engine acts only on what
/// the database holds. The same code runs on both backends (``HistoryDatabase``); PostgreSQL
/// lets several Ballast instances on several machines share one history, its journal and its
/// leases (README, "High availability"). A write that fails because the database is
/// unreachable or restarting is retried — with the same client-made key when it must not be
/// applied twice — until the database answers again or `reconnectFor` seconds have passed.
/// Writes made under a migration lease carry its fencing token, which the database checks.
/// Safe to share between tasks and processes.
public struct HistoryStore: Sendable {
  let database: any HistoryDatabase
  let logger: Logger
  /// How long a call retries while the database is unreachable.
  let reconnectFor: Double
  let outage: OutageReport

  /// The database file, or for PostgreSQL its URL without any password.
  public var path: String { database.location }

  /// Which backend holds the history.
  public var backend: HistoryTarget.Backend {
    switch database.dialect {
    case .sqlite: .sqlite
    case .postgres: .postgres
    }
  }

  /// Opens (or creates, with owner-only permissions) the SQLite database at `path` and brings
  /// its schema up to date; or, with ``Access/readOnly``, opens an existing one only to read it.
  ///
  /// - Parameters:
  ///   - path: the database file (see ``HistoryLocation/path(option:environment:)``).
  ///   - busyTimeout: how long a writer waits for another writer before failing.
  ///   - clock: the time source of lease expiry (this machine's clock by default).
  ///   - durability: ``Durability/full`` unless the history may lose its last entries when the
  ///     machine (not the process) goes down, e.g. in a simulation.
  ///   - access: ``Access/readWrite`` for commands that record, ``Access/readOnly`` for
  ///     commands that only read (they then work on another user's or a read-only file).
  ///   - verifyIntegrity: check every page of the database first (SQLite's `quick_check`) and
  ///     refuse a damaged one, saying how to recover: what commands that move VMs ask for,
  ///     since they must never keep journaling into a damaged file.
  ///   - logger: where outages and retries are reported.
  /// - Throws: ``HistoryError`` naming the file and what to do.
  public init(
    path: String, busyTimeout: Double = 5, clock: HistoryClock = .system, durability: Durability = .full,
    access: Access = .readWrite, verifyIntegrity: Bool = false, logger: Logger = HistoryStore.quietLogger
  ) throws {
    let database = try SQLiteHistoryDatabase(
      path: path, busyTimeout: busyTimeout, clock: clock, durability: durability, access: access,
      verifyIntegrity: verifyIntegrity)
    self.init(database: database, logger: logger)
  }

  init(database: any HistoryDatabase, logger: Logger, reconnectFor: Double = 30) {
    self.database = database
    self.logger = logger
    self.reconnectFor = reconnectFor
    self.outage = OutageReport()
  }

  /// Opens the history at `target`: an SQLite file (as ``init(path:busyTimeout:clock:durability:access:verifyIntegrity:logger:)``)
  /// or a PostgreSQL database, connecting and bringing its schema up to date (or, read-only,
  /// checking it).
  ///
  /// - Parameters:
  ///   - clock: the lease clock; `nil` is the database's own (PostgreSQL's server clock, so
  ///     machines whose clocks disagree agree on expiry; this machine's for SQLite).
  ///   - verifyIntegrity: SQLite's `quick_check` before anything is written (PostgreSQL checks
  ///     its own pages).
  ///   - reconnectFor: how long a call keeps retrying while PostgreSQL is unreachable.
  /// - Throws: ``HistoryError`` naming the database and what to do.
  public static func open(
    _ target: HistoryTarget, clock: HistoryClock? = nil, durability: Durability = .full, access: Access = .readWrite,
    verifyIntegrity: Bool = false, reconnectFor: Double = 30, logger: Logger = HistoryStore.quietLogger
  ) async throws -> HistoryStore {
    switch target {
    case .sqlite(let path):
      let database = try SQLiteHistoryDatabase(
        path: path, busyTimeout: 5, clock: clock, durability: durability, access: access,
        verifyIntegrity: verifyIntegrity)
      return HistoryStore(database: database, logger: logger, reconnectFor: reconnectFor)
    case .postgres(let url):
      let database = try await PostgresHistoryDatabase.open(url, clock: clock, access: access, logger: logger)
      return HistoryStore(database: database, logger: logger, reconnectFor: reconnectFor)
    }
  }

  /// Whether a store may write to its database.
  public enum Access: Sendable, Hashable {
    /// Reads and writes: the database is created when missing and its schema brought up to date.
    case readWrite
    /// Reads only: the database is never created, migrated or written, so reading works on a
    /// database this user may not write (another user's, mode 0444, a read-only mount, a
    /// PostgreSQL role with SELECT only).
    case readOnly
  }

  /// How hard each commit is pushed to disk (SQLite's `synchronous`; PostgreSQL keeps its own
  /// `synchronous_commit`).
  public enum Durability: String, Sendable {
    /// Every commit is on disk when the call returns, even across a power loss (an fsync per
    /// commit). What the migration journal needs.
    case full = "FULL"
    /// Commits survive a killed process but the last ones may be lost when the machine goes
    /// down; several times faster. For simulations and benchmarks.
    case normal = "NORMAL"
  }

  /// A logger that says nothing, for stores whose caller reports failures itself.
  public static let quietLogger = Logger(label: "ballast.history", factory: { _ in SwiftLogNoOpLogHandler() })

  /// The names of the schema migrations applied to this database, in order.
  public func appliedMigrations() async throws -> [String] {
    try await retrying("read the applied schema migrations", budget: reconnectFor) {
      try await database.appliedMigrations()
    }
  }

  /// Closes the database's connections (PostgreSQL); the store is not used afterwards.
  public func close() async { await database.close() }

  /// The SQLite connection pool, for tests of SQLite-only behaviour.
  var pool: DatabasePool {
    get throws {
      guard let sqlite = database as? SQLiteHistoryDatabase else {
        throw HistoryError(path: path, "not an SQLite database")
      }
      return sqlite.pool
    }
  }
}

/// Reports an outage of the database once, and its end.
final class OutageReport: Sendable {
  private let started = Mutex<ContinuousClock.Instant?>(nil)

  /// Whether this failure starts an outage (the first since the database last answered).
  func begin() -> Bool {
    started.withLock { started in
      guard started == nil else { return false }
      started = .now
      return true
    }
  }

  /// How long the outage lasted, if one was under way.
  func end() -> Duration? {
    started.withLock { started in
      defer { started = nil }
      return started.map { .now - $0 }
    }
  }
}
