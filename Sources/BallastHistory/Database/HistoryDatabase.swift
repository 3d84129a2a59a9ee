/// Which SQL a history database speaks, where SQLite and PostgreSQL differ.
enum SQLDialect: String, Sendable {
  case sqlite
  case postgres
}

/// One transaction on a history database: statements with `?` placeholders, run in order,
/// committed when the closure that received it returns and rolled back when it throws.
///
/// The history's queries are written once in the SQL both backends share (`RETURNING`,
/// `ON CONFLICT`, window functions, `?` arguments); the rare statement that differs asks
/// ``dialect``.
protocol SQLTransaction {
  var dialect: SQLDialect { get }
  /// Runs a statement; returns how many rows it inserted, updated or deleted.
  @discardableResult
  func execute(_ sql: String, arguments: [SQLValue]) throws -> Int
  /// Runs a query; returns its rows.
  func rows(_ sql: String, arguments: [SQLValue]) throws -> [SQLRow]
  /// The database's clock, in seconds since the Unix epoch: the server's for PostgreSQL (so
  /// machines whose clocks disagree still agree on when a lease expires), this machine's for
  /// SQLite — or the clock the store was given (tests).
  func now() throws -> Double
}

extension SQLTransaction {
  @discardableResult
  func execute(_ sql: String, _ arguments: any SQLArgument...) throws -> Int {
    try execute(sql, arguments: arguments.map(\.sqlValue))
  }

  func rows(_ sql: String, _ arguments: any SQLArgument...) throws -> [SQLRow] {
    try rows(sql, arguments: arguments.map(\.sqlValue))
  }

  /// The first row of a query, or `nil`.
  func row(_ sql: String, _ arguments: any SQLArgument...) throws -> SQLRow? {
    try rows(sql, arguments: arguments.map(\.sqlValue)).first
  }

  /// The first column of the first row, or `nil` when there is no row or it is `NULL`.
  func value<T: SQLColumnValue>(_ type: T.Type, _ sql: String, _ arguments: any SQLArgument...) throws -> T? {
    guard let row = try rows(sql, arguments: arguments.map(\.sqlValue)).first, let column = row.columns.first
    else { return nil }
    return try row.decode(T?.self, forColumn: column)
  }
}

/// Where a ``HistoryStore`` keeps the history: an SQLite file or a PostgreSQL database.
///
/// A backend runs transactions, says where it is, and tells the store which of its errors mean
/// "unreachable, try again" and which mean "refused by the fencing trigger". Everything the
/// history does is written once, in ``HistoryStore``, on ``SQLTransaction``.
protocol HistoryDatabase: Sendable {
  /// The file, or the PostgreSQL URL without any password: what messages name.
  var location: String { get }
  var dialect: SQLDialect { get }
  /// Runs `body` in one write transaction, serialized with every other writer of the database
  /// (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: row locks taken by the statements themselves).
  func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T
  /// Runs `body` on a consistent snapshot, writing nothing.
  func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T
  /// The names of the schema migrations applied to this database, in the order they ran.
  func appliedMigrations() async throws -> [String]
  /// What `error` (thrown by this backend) means for the store.
  func classify(_ error: any Error) -> DatabaseFailureKind
  /// `error` as an operator reads it: what could not be done, why, and what to do.
  func failure(_ what: String, _ error: any Error) -> HistoryError
  /// Closes the connections; the database is not used afterwards.
  func close() async
}

/// What a backend's error means for the store.
enum DatabaseFailureKind: Sendable, Hashable {
  /// The server is unreachable or restarting, or the transaction lost a race it may retry:
  /// the same transaction may be run again (every write of the store is idempotent).
  case transient
  /// The fencing trigger refused a write made under a lease that was taken over.
  case fenced(String)
  /// Anything else: reported as it is.
  case other
}
