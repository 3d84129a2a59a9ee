import Foundation
import GRDB

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The SQLite history of plans, moves, stages, host samples, host state changes and leases.
///
/// One `DatabasePool` in WAL mode: readers (`ballast history`) never wait for the writer
/// (`balance --loop`), writers wait up to the busy timeout for each other, foreign keys are
/// enforced, and every journal write is committed (and, by default, synced to disk) before it
/// returns, so the engine acts only on what is on disk. Safe to share between tasks and processes.
public struct HistoryStore: Sendable {
  /// The database file.
  public let path: String
  let pool: DatabasePool
  let clock: HistoryClock

  /// Opens (or creates, with owner-only permissions) the database at `path` and brings its
  /// schema up to date.
  ///
  /// - Parameters:
  ///   - path: the database file (see ``HistoryLocation/path(option:environment:)``).
  ///   - busyTimeout: how long a writer waits for another writer before failing.
  ///   - clock: the time source of lease expiry.
  ///   - durability: ``Durability/full`` unless the history may lose its last entries when the
  ///     machine (not the process) goes down, e.g. in a simulation.
  /// - Throws: ``HistoryError`` naming the file and what to do.
  public init(
    path: String, busyTimeout: Double = 5, clock: HistoryClock = .system, durability: Durability = .full
  ) throws {
    self.path = path
    self.clock = clock
    try Self.createIfMissing(path)
    var configuration = Configuration()
    configuration.label = "ballast-history"
    configuration.foreignKeysEnabled = true
    configuration.busyMode = .timeout(busyTimeout)
    do {
      pool = try DatabasePool(path: path, configuration: configuration)
      let synchronous = durability.rawValue
      try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
    } catch {
      throw Self.openError(path: path, error)
    }
    try Self.migrate(pool, path: path)
  }

  /// How hard each commit is pushed to disk (SQLite's `synchronous`).
  public enum Durability: String, Sendable {
    /// Every commit is on disk when the call returns, even across a power loss (an fsync per
    /// commit). What the migration journal needs.
    case full = "FULL"
    /// Commits survive a killed process but the last ones may be lost when the machine goes
    /// down; several times faster. For simulations and benchmarks.
    case normal = "NORMAL"
  }

  /// The names of the schema migrations applied to this database, in order.
  public func appliedMigrations() throws -> [String] {
    try pool.read { db in try HistorySchema.migrator().appliedMigrations(db) }
  }

  // MARK: Opening

  /// Creates an empty file readable and writable by its owner only (0600). SQLite then gives the
  /// `-wal` and `-shm` files the same permissions as the database file.
  static func createIfMissing(_ path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    var isDirectory: ObjCBool = false
    if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
      throw HistoryError(
        path: path, "directory \(directory) does not exist",
        hint: "create it, or choose another file with --db PATH or BALLAST_DB")
    }
    let fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
    if fd >= 0 {
      close(fd)
      return
    }
    let code = errno
    if code == EEXIST { return }
    let reason = String(cString: strerror(code))
    throw HistoryError(
      path: path, "cannot create the file: \(reason)",
      hint: "choose a writable location with --db PATH or BALLAST_DB")
  }

  static func migrate(_ pool: DatabasePool, path: String) throws {
    let migrator = HistorySchema.migrator()
    do {
      if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
        let unknown = try pool.read { db in
          try migrator.appliedIdentifiers(db).subtracting(HistorySchema.migrationNames).sorted()
        }
        throw HistoryError(
          path: path,
          "written by a newer Ballast (schema migrations unknown to this one: \(unknown.joined(separator: ", ")))",
          hint: "upgrade ballast, or use another file with --db PATH")
      }
      // Another process opening the same new file may run a migration between our check of the
      // applied migrations and our own run of it: then ours fails, and a second run finds it done.
      var attempt = 0
      while true {
        do {
          try migrator.migrate(pool)
          return
        } catch {
          attempt += 1
          if attempt >= 3 { throw error }
          usleep(50_000)
        }
      }
    } catch let error as HistoryError {
      throw error
    } catch {
      throw openError(path: path, error)
    }
  }

  static func openError(path: String, _ error: any Error) -> HistoryError {
    guard let error = error as? DatabaseError else {
      return HistoryError(path: path, "cannot open: \(error)", hint: "check the file, or use another with --db PATH")
    }
    let message = error.message ?? "\(error.resultCode)"
    switch error.resultCode {
    case .SQLITE_NOTADB:
      return HistoryError(
        path: path, "not an SQLite database",
        hint: "point --db PATH or BALLAST_DB at a Ballast history file, or move this file away")
    case .SQLITE_CORRUPT:
      return HistoryError(
        path: path, "the database is corrupt (\(message))",
        hint: "restore it from a backup, or move it away to start a new history")
    case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
      return HistoryError(
        path: path, "cannot open for writing (\(message))",
        hint: "check the permissions of the file, its -wal and -shm files and its directory, or use --db PATH")
    case .SQLITE_BUSY, .SQLITE_LOCKED:
      return HistoryError(
        path: path, "locked by another process for too long (\(message))",
        hint: "retry; if it persists, find the process holding it (fuser \(path))")
    case .SQLITE_FULL, .SQLITE_IOERR:
      return HistoryError(path: path, "cannot write (\(message))", hint: "check free disk space and the disk")
    default:
      return HistoryError(path: path, "cannot open: \(message)", hint: "check the file, or use another with --db PATH")
    }
  }
}
