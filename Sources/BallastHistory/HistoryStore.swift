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
  /// schema up to date; or, with ``Access/readOnly``, opens an existing one only to read it.
  ///
  /// - Parameters:
  ///   - path: the database file (see ``HistoryLocation/path(option:environment:)``).
  ///   - busyTimeout: how long a writer waits for another writer before failing.
  ///   - clock: the time source of lease expiry.
  ///   - durability: ``Durability/full`` unless the history may lose its last entries when the
  ///     machine (not the process) goes down, e.g. in a simulation.
  ///   - access: ``Access/readWrite`` for commands that record, ``Access/readOnly`` for
  ///     commands that only read (they then work on another user's or a read-only file).
  ///   - verifyIntegrity: check every page of the database first (SQLite's `quick_check`) and
  ///     refuse a damaged one, saying how to recover: what commands that move VMs ask for,
  ///     since they must never keep journaling into a damaged file.
  /// - Throws: ``HistoryError`` naming the file and what to do.
  public init(
    path: String, busyTimeout: Double = 5, clock: HistoryClock = .system, durability: Durability = .full,
    access: Access = .readWrite, verifyIntegrity: Bool = false
  ) throws {
    self.path = path
    self.clock = clock
    var configuration = Configuration()
    configuration.label = "ballast-history"
    configuration.foreignKeysEnabled = true
    configuration.busyMode = .timeout(busyTimeout)
    configuration.readonly = access == .readOnly
    if verifyIntegrity, FileManager.default.fileExists(atPath: path) {
      // Before anything opens it for writing: opening a pool for writing writes to the file.
      try Self.checkIntegrity(path, configuration: configuration)
    }
    if access == .readWrite { try Self.createIfMissing(path) }
    do {
      switch access {
      case .readWrite:
        pool = try DatabasePool(path: path, configuration: configuration)
        let synchronous = durability.rawValue
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
      case .readOnly:
        pool = try Self.openForReading(path, configuration: configuration)
      }
    } catch {
      throw Self.openError(path: path, error, access: access)
    }
    switch access {
    case .readWrite: try Self.migrate(pool, path: path)
    case .readOnly: try Self.checkSchemaForReading(pool, path: path)
    }
  }

  /// Whether a store may write to its database.
  public enum Access: Sendable, Hashable {
    /// Reads and writes: the file is created when missing and its schema brought up to date.
    case readWrite
    /// Reads only: the file is never created, migrated or written, so reading works on a
    /// database this user may not write (another user's, mode 0444, a read-only mount).
    case readOnly
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

  /// Creates an empty file readable and writable by its owner only (0600, whatever the umask),
  /// also when `path` is a symlink to a file that does not exist yet. SQLite then gives the
  /// `-wal` and `-shm` files the same permissions as the database file.
  static func createIfMissing(_ path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    var isDirectory: ObjCBool = false
    if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
      throw HistoryError(
        path: path, "directory \(directory) does not exist",
        hint: "create it, or choose another file with --db PATH or BALLAST_DB")
    }
    var code: Int32 = 0
    let fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
    if fd >= 0 {
      fchmod(fd, 0o600)
      close(fd)
      return
    }
    code = errno
    var target = stat()
    if code == EEXIST, stat(path, &target) != 0, errno == ENOENT {
      // A symlink to nothing (O_EXCL never follows one): create its target, owner-only. Without
      // this SQLite would create it with its default 0644.
      let created = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
      if created >= 0 {
        var info = stat()
        if fstat(created, &info) == 0, info.st_size == 0 { fchmod(created, 0o600) }
        close(created)
        return
      }
      code = errno
    } else if code == EEXIST {
      return
    }
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

  /// A pool that only reads `path`. SQLite reads a WAL database through its `-wal` and `-shm`
  /// files, creating them when missing: a user who may not write the folder (another user's
  /// database) cannot. When no process writes the database (it has no `-wal` file), it is
  /// read as immutable instead, which needs neither.
  static func openForReading(_ path: String, configuration: Configuration) throws -> DatabasePool {
    do {
      let pool = try DatabasePool(path: path, configuration: configuration)
      _ = try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
      return pool
    } catch {
      guard !FileManager.default.fileExists(atPath: path + "-wal") else { throw error }
      let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
      let uri = "file:" + (absolute.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? absolute)
      let pool = try DatabasePool(path: uri + "?immutable=1", configuration: configuration)
      _ = try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
      return pool
    }
  }

  /// Refuses a damaged database before anything is journaled into it, reading it through a
  /// connection of its own that cannot write.
  static func checkIntegrity(_ path: String, configuration: Configuration) throws {
    var reading = configuration
    reading.readonly = true
    var problems: [String]
    do {
      let reader = try openForReading(path, configuration: reading)
      problems = try reader.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }
      try reader.close()
    } catch let error as DatabaseError where error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB {
      problems = [error.message ?? "\(error.resultCode)"]
    } catch {
      throw openError(path: path, error, access: .readOnly)
    }
    guard problems != ["ok"] else { return }
    throw HistoryError(
      path: path, "the database is damaged (SQLite quick_check: \(problems.prefix(3).joined(separator: "; ")))",
      hint: "nothing was moved. Stop every Ballast process using it and keep a copy; then salvage what it holds "
        + "with `sqlite3 \(path) .recover | sqlite3 recovered.sqlite` and use --db recovered.sqlite, or move the "
        + "file away to start a new history (the next command reconciles with the hypervisors first)")
  }

  /// A database opened for reading must already have this Ballast's schema.
  static func checkSchemaForReading(_ pool: DatabasePool, path: String) throws {
    let migrator = HistorySchema.migrator()
    let applied: Set<String>
    do {
      applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
    } catch {
      throw openError(path: path, error, access: .readOnly)
    }
    let unknown = applied.subtracting(HistorySchema.migrationNames)
    if !unknown.isEmpty {
      throw HistoryError(
        path: path,
        "written by a newer Ballast (schema migrations unknown to this one: \(unknown.sorted().joined(separator: ", ")))",
        hint: "upgrade ballast, or use another file with --db PATH")
    }
    if !Set(HistorySchema.migrationNames).isSubset(of: applied) {
      throw HistoryError(
        path: path, "its schema is older than this Ballast's (or it is not a Ballast history)",
        hint: "run a command that records (e.g. `ballast balance --dry-run`) once with write access to upgrade it")
    }
  }

  static func openError(path: String, _ error: any Error, access: Access = .readWrite) -> HistoryError {
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
        path: path, "cannot open for \(access == .readOnly ? "reading" : "writing") (\(message))",
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
