import Dispatch
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The history in a PostgreSQL database, through postgres-nio: what several Ballast instances
/// on several machines share.
///
/// One connection, opened when first needed and again after it was lost. Transactions run one
/// at a time on a serial queue of their own (the store's transactions are short), blocking it —
/// never the cooperative pool — while they wait for the server. Write transactions run at
/// `READ COMMITTED` and take the row locks they need (`FOR UPDATE` on a lease, `FOR SHARE` in
/// the fencing trigger); reads run at `REPEATABLE READ`, read-only. The clock of leases is the
/// server's (`clock_timestamp()`), unless the store was given one.
final class PostgresHistoryDatabase: HistoryDatabase {
  let url: PostgresURL
  let clock: HistoryClock?
  private let configuration: PostgresConnection.Configuration
  private let logger: Logger
  private let queue = DispatchQueue(label: "ballast-history-postgres")
  /// The connection, used on `queue` only.
  private let connection = Mutex<PostgresConnection?>(nil)
  private let nextID = Atomic<Int>(1)

  /// Closes the connection if ``close()`` was not called (the store went away with its
  /// command); the connection lives until it is closed.
  deinit {
    if let open = connection.withLock({ $0 }) { Self.closeInBackground(open) }
  }

  /// Closes `connection` without waiting, keeping it alive until it is closed.
  private static func closeInBackground(_ connection: PostgresConnection) {
    let closing: EventLoopFuture<Void> = connection.close()
    closing.whenComplete { _ in withExtendedLifetime(connection) {} }
  }

  var location: String { url.description }
  var dialect: SQLDialect { .postgres }

  private init(url: PostgresURL, configuration: PostgresConnection.Configuration, clock: HistoryClock?, logger: Logger)
  {
    self.url = url
    self.configuration = configuration
    self.clock = clock
    self.logger = logger
  }

  /// Connects to `url` and brings its schema up to date (or, `readOnly`, checks it).
  /// - Throws: ``HistoryError`` naming the database and what to do.
  static func open(
    _ url: PostgresURL, clock: HistoryClock?, access: HistoryStore.Access, logger: Logger,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) async throws -> PostgresHistoryDatabase {
    let password = PostgresPassword.find(for: url, environment: environment)
    let configuration = try PostgresConnectionSettings.configuration(for: url, password: password)
    let database = PostgresHistoryDatabase(url: url, configuration: configuration, clock: clock, logger: logger)
    do {
      switch access {
      case .readWrite: try await database.onQueue { try database.migrate() }
      case .readOnly: try await database.onQueue { try database.checkSchemaForReading() }
      }
    } catch let error as HistoryError {
      await database.close()
      throw error
    } catch {
      await database.close()
      throw database.failure("open", error)
    }
    return database
  }

  func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
    try await onQueue { try self.transaction(readOnly: false, body) }
  }

  func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
    try await onQueue { try self.transaction(readOnly: true, body) }
  }

  func appliedMigrations() async throws -> [String] {
    try await read { tx in try Self.applied(tx) }
  }

  func close() async {
    let open = connection.withLock { connection -> PostgresConnection? in
      defer { connection = nil }
      return connection
    }
    try? await open?.close()
  }

  // MARK: Transactions

  /// Runs `work` on the serial queue and waits for it without blocking a thread of the pool.
  private func onQueue<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      queue.async { continuation.resume(with: Result { try work() }) }
    }
  }

  /// One transaction on the connection (opened first when there is none). A connection that
  /// failed is dropped, so the next transaction opens a new one.
  private func transaction<T>(readOnly: Bool, _ body: (any SQLTransaction) throws -> T) throws -> T {
    let connection = try connected()
    let tx = PostgresTransaction(connection: connection, logger: logger, clock: clock)
    do {
      try tx.run(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN")
      let result = try body(tx)
      try tx.run("COMMIT")
      return result
    } catch {
      if case .transient = classify(error), Self.connectionLost(error) {
        drop(connection)
      } else {
        do { try tx.run("ROLLBACK") } catch { drop(connection) }
      }
      throw error
    }
  }

  /// The open connection, or a new one.
  private func connected() throws -> PostgresConnection {
    if let open = connection.withLock({ $0 }), !open.isClosed { return open }
    let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    let opened: PostgresConnection
    do {
      opened = try PostgresConnection.connect(
        on: PostgresConnection.defaultEventLoopGroup.any(), configuration: configuration, id: id, logger: logger
      ).wait()
    } catch let error as PSQLError
      where error.code == .server || error.code == .authMechanismRequiresPassword
      || error.code == .unsupportedAuthMechanism
    {
      // The server answered and refused (no such database, a password needed or wrong): not an outage.
      throw error
    } catch {
      throw PostgresUnreachable(underlying: error)
    }
    connection.withLock { $0 = opened }
    return opened
  }

  private func drop(_ lost: PostgresConnection) {
    connection.withLock { current in
      if current === lost { current = nil }
    }
    Self.closeInBackground(lost)
  }

  // MARK: Schema

  /// The advisory lock that keeps two Ballast processes from migrating one database at once.
  private static let migrationLock: Int64 = 0x6261_6c6c_6173_7401  // "ballast" 1

  /// Applies every migration this database lacks, each in a transaction of its own, under an
  /// advisory lock; refuses a database with migrations this Ballast does not know.
  private func migrate() throws {
    let known = HistorySchema.migrationNames
    while true {
      let pending: HistorySchema.Migration? = try transaction(readOnly: false) { tx in
        try tx.execute("SELECT pg_advisory_xact_lock(?)", Self.migrationLock)
        try tx.execute(
          "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
        let applied = try Self.applied(tx)
        let unknown = Set(applied).subtracting(known)
        if !unknown.isEmpty {
          throw HistoryError(
            path: location,
            "written by a newer Ballast (schema migrations unknown to this one: \(unknown.sorted().joined(separator: ", ")))",
            hint: "upgrade ballast, or use another database with --db")
        }
        guard let next = HistorySchema.migrations.first(where: { !applied.contains($0.name) }) else { return nil }
        for statement in PostgresStatements.split(next.postgres) { try tx.execute(statement) }
        try tx.execute(
          "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", next.name, Date().timeIntervalSince1970)
        return next
      }
      guard let pending else { return }
      logger.info("history database \(location): applied schema migration \(pending.name)")
    }
  }

  /// A database opened to read must already have this Ballast's schema.
  private func checkSchemaForReading() throws {
    let applied: [String] = try transaction(readOnly: true) { tx in
      guard try tx.value(String.self, "SELECT to_regclass('schema_migrations')::text") != nil else { return [] }
      return try Self.applied(tx)
    }
    let unknown = Set(applied).subtracting(HistorySchema.migrationNames)
    if !unknown.isEmpty {
      throw HistoryError(
        path: location,
        "written by a newer Ballast (schema migrations unknown to this one: \(unknown.sorted().joined(separator: ", ")))",
        hint: "upgrade ballast, or use another database with --db")
    }
    if !Set(HistorySchema.migrationNames).isSubset(of: Set(applied)) {
      throw HistoryError(
        path: location, "its schema is older than this Ballast's (or it is not a Ballast history)",
        hint: "run a command that records (e.g. `ballast balance --dry-run`) once with write access to upgrade it")
    }
  }

  private static func applied(_ tx: any SQLTransaction) throws -> [String] {
    try tx.rows("SELECT name FROM schema_migrations").map { try $0.decode(String.self, forColumn: "name") }
      .sorted {
        (HistorySchema.migrationNames.firstIndex(of: $0) ?? .max)
          < (HistorySchema.migrationNames.firstIndex(of: $1) ?? .max)
      }
  }

  // MARK: Errors

  func classify(_ error: any Error) -> DatabaseFailureKind {
    if error is PostgresUnreachable { return .transient }
    guard let error = error as? PSQLError else { return .other }
    switch error.code {
    case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
      return .transient
    case .server:
      let state = error.serverInfo?[.sqlState] ?? ""
      if state == PostgresSchema.fencingState { return .fenced(error.serverInfo?[.message] ?? "refused") }
      if state.hasPrefix("08") || ["57P01", "57P02", "57P03", "40001", "40P01", "55P03", "25P03"].contains(state) {
        return .transient
      }
      return .other
    default:
      return .other
    }
  }

  /// Whether `error` means the connection can no longer be used.
  private static func connectionLost(_ error: any Error) -> Bool {
    if error is PostgresUnreachable { return true }
    guard let error = error as? PSQLError else { return false }
    switch error.code {
    case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown: return true
    case .server:
      let state = error.serverInfo?[.sqlState] ?? ""
      return state.hasPrefix("08") || state.hasPrefix("57P")
    default: return false
    }
  }

  func failure(_ what: String, _ error: any Error) -> HistoryError {
    if let unreachable = error as? PostgresUnreachable {
      return HistoryError(
        path: location, "cannot \(what): cannot connect (\(Self.describe(unreachable.underlying)))",
        hint: "check that the server runs and accepts connections from this machine (pg_hba.conf), the host and "
          + "port in the URL, and the password in PGPASSWORD or ~/.pgpass")
    }
    guard let error = error as? PSQLError else { return HistoryError(path: location, "cannot \(what): \(error)") }
    let state = error.serverInfo?[.sqlState] ?? ""
    let message = Self.describe(error)
    if error.code == .authMechanismRequiresPassword {
      return HistoryError(
        path: location, "cannot \(what): the server asks user \(url.user) for a password and none was given",
        hint: "put it in PGPASSWORD or ~/.pgpass (host:port:database:user:password, mode 0600, or the file "
          + "PGPASSFILE names), never in the URL")
    }
    switch state {
    case "28P01", "28000":
      return HistoryError(
        path: location, "cannot \(what): the server refused user \(url.user) (\(message))",
        hint: "put the password in PGPASSWORD or ~/.pgpass (host:port:database:user:password, mode 0600), "
          + "or check pg_hba.conf")
    case "3D000":
      return HistoryError(
        path: location, "cannot \(what): there is no database \(url.database) (\(message))",
        hint: "create it (createdb -O \(url.user) \(url.database)) or name another in the URL")
    case "42501":
      return HistoryError(
        path: location, "cannot \(what): permission denied (\(message))",
        hint: "grant user \(url.user) the rights on the database, or use its owner")
    default:
      if case .transient = classify(error) {
        return HistoryError(
          path: location, "cannot \(what): the server is unreachable (\(message))",
          hint: "check that PostgreSQL runs; Ballast retries while it restarts")
      }
      return HistoryError(path: location, "cannot \(what): \(message)")
    }
  }

  /// What the server said (postgres-nio's own description hides it), or the underlying error.
  static func describe(_ error: any Error) -> String {
    guard let error = error as? PSQLError else { return "\(error)" }
    if let message = error.serverInfo?[.message] {
      let state = error.serverInfo?[.sqlState].map { " [\($0)]" } ?? ""
      return message + state
    }
    if let underlying = error.underlying { return "\(error.code): \(underlying)" }
    return "\(error.code)"
  }
}

/// The server could not be reached (connecting failed).
struct PostgresUnreachable: Error {
  let underlying: any Error
}

/// A transaction on a PostgreSQL connection: `?` placeholders become `$1`, `$2`, …
struct PostgresTransaction: SQLTransaction {
  let connection: PostgresConnection
  let logger: Logger
  let clock: HistoryClock?

  var dialect: SQLDialect { .postgres }

  func execute(_ sql: String, arguments: [SQLValue]) throws -> Int {
    try result(sql, arguments).metadata.rows ?? 0
  }

  func rows(_ sql: String, arguments: [SQLValue]) throws -> [SQLRow] {
    try result(sql, arguments).rows.map(Self.row)
  }

  func now() throws -> Double {
    if let clock { return clock.now() }
    guard let now = try value(Double.self, "SELECT extract(epoch FROM clock_timestamp())::float8 AS now") else {
      throw DecodingFailure("clock_timestamp()", "NULL")
    }
    return now
  }

  /// Runs a statement without arguments (`BEGIN`, `COMMIT`).
  func run(_ sql: String) throws {
    _ = try connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).wait()
  }

  private func result(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQueryResult {
    var binds = PostgresBindings(capacity: arguments.count)
    for argument in arguments {
      switch argument {
      case .null: binds.appendNull()
      case .integer(let integer): binds.append(integer)
      case .real(let real): binds.append(real)
      case .text(let text): binds.append(text)
      }
    }
    let query = PostgresQuery(unsafeSQL: PostgresStatements.numberPlaceholders(sql), binds: binds)
    return try connection.query(query, logger: logger).wait()
  }

  static func row(_ row: PostgresRow) throws -> SQLRow {
    var columns: [String] = []
    var values: [SQLValue] = []
    for cell in row {
      columns.append(cell.columnName)
      values.append(try value(cell))
    }
    return SQLRow(columns: columns, values: values)
  }

  static func value(_ cell: PostgresCell) throws -> SQLValue {
    guard cell.bytes != nil else { return .null }
    switch cell.dataType {
    case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
    case .float4, .float8: return .real(try cell.decode(Double.self))
    case .numeric:
      let decimal = try cell.decode(Decimal.self)
      return .real(NSDecimalNumber(decimal: decimal).doubleValue)
    case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
    default: return .text(try cell.decode(String.self))
    }
  }
}
