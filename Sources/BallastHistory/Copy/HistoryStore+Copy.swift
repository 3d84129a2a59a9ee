import Foundation

/// How many rows one table of a copied history holds, in the source and in the copy.
public struct CopiedTable: Sendable, Hashable, Codable {
  public var table: String
  public var sourceRows: Int
  public var copiedRows: Int
}

extension HistoryStore {
  /// The tables `ballast db copy` copies, parents before children. Every table of the schema
  /// but `write_keys` (which only matter to the process that made them).
  public static let copiedTables = [
    "plans", "moves", "stages", "host_samples", "host_state_changes", "cluster_leases", "loop_leaders",
    "model_observations", "model_estimates",
  ]

  /// The tables with an `id` the copy keeps (and pages through).
  static let tablesWithIDs: Set<String> = [
    "plans", "moves", "stages", "host_samples", "host_state_changes", "model_observations",
  ]

  /// The primary key of each table without an `id`, which pages through it in a stable order.
  static let keysOfTablesWithoutIDs = [
    "cluster_leases": "cluster", "loop_leaders": "cluster", "model_estimates": "cluster, scope, subject, target",
  ]

  /// Copies this whole history into `destination` (an empty history, SQLite or PostgreSQL),
  /// keeping every id, then checks that each table holds as many rows as here.
  ///
  /// Refused while a lease is held here (a Ballast process may be writing: stop them first)
  /// and when `destination` already holds a history. Rows go over in batches of `batch`, each
  /// batch one transaction; if the copy fails half-way the destination holds part of the
  /// history: drop it (or remove the file) and copy again. The rows' fencing epochs are kept:
  /// the destination's fencing triggers are set aside while the batch is written.
  /// - Throws: ``HistoryError`` saying what stopped the copy and what to do.
  public func copy(to destination: HistoryStore, batch: Int = 2000) async throws -> [CopiedTable] {
    let source = self
    try await source.refuseWhileLeased()
    try await destination.refuseUnlessEmpty()
    for table in Self.copiedTables {
      var after: Int64 = -1
      var offset = 0
      while true {
        let rows: [SQLRow]
        if Self.tablesWithIDs.contains(table) {
          let last = after
          rows = try await source.read("read \(table)") { tx in
            try tx.rows("SELECT * FROM \(table) WHERE id > ? ORDER BY id LIMIT ?", last, batch)
          }
        } else {
          let skip = offset
          let order = Self.keysOfTablesWithoutIDs[table] ?? "1"
          rows = try await source.read("read \(table)") { tx in
            try tx.rows("SELECT * FROM \(table) ORDER BY \(order) LIMIT ? OFFSET ?", batch, skip)
          }
        }
        guard let first = rows.first else { break }
        try await destination.insertCopied(table: table, columns: first.columns, rows: rows)
        if Self.tablesWithIDs.contains(table) {
          after = try rows[rows.count - 1].decode(Int64.self, forColumn: "id")
        }
        offset += rows.count
        if rows.count < batch { break }
      }
    }
    if destination.database.dialect == .postgres {
      try await destination.write("move the id sequences past the copied ids") { tx in
        for table in Self.tablesWithIDs.sorted() {
          try tx.execute(
            """
            SELECT setval(pg_get_serial_sequence('\(table)', 'id'), max(id)) FROM \(table) HAVING max(id) IS NOT NULL
            """)
        }
      }
    }
    var report: [CopiedTable] = []
    for table in Self.copiedTables {
      let sourceRows = try await source.count(table)
      let copiedRows = try await destination.count(table)
      report.append(CopiedTable(table: table, sourceRows: sourceRows, copiedRows: copiedRows))
    }
    let different = report.filter { $0.sourceRows != $0.copiedRows }
    if !different.isEmpty {
      throw HistoryError(
        path: destination.path,
        "the copy does not hold what \(source.path) holds: "
          + different.map { "\($0.table) \($0.copiedRows) rows, expected \($0.sourceRows)" }.joined(separator: "; "),
        hint: "was a Ballast process writing to \(source.path)? Stop it, drop the copy and copy again")
    }
    return report
  }

  /// Refuses to copy a history a Ballast process may be writing to.
  private func refuseWhileLeased() async throws {
    let held = try await read("read the leases") { tx -> [String] in
      let now = try tx.now()
      var held: [String] = []
      for table in ["cluster_leases", "loop_leaders"] {
        let rows = try tx.rows(
          "SELECT cluster, holder FROM \(table) WHERE released_at IS NULL AND expires_at > ? ORDER BY cluster", now)
        for row in rows {
          held.append(
            "\(try row.decode(String.self, forColumn: "holder")) on cluster \(try row.decode(String.self, forColumn: "cluster"))"
          )
        }
      }
      return held
    }
    if !held.isEmpty {
      throw HistoryError(
        path: path, "a Ballast process holds a lease on this history (\(held.joined(separator: "; ")))",
        hint: "stop the Ballast processes that use it (or wait for their leases to expire), then copy")
    }
  }

  /// Refuses a destination that already holds a history.
  private func refuseUnlessEmpty() async throws {
    for table in Self.copiedTables where try await count(table) > 0 {
      throw HistoryError(
        path: path, "it already holds a history (its \(table) table has rows)",
        hint: "copy into a new, empty database (createdb NAME) or a file that does not exist yet")
    }
  }

  private func count(_ table: String) async throws -> Int {
    try await read("count the rows of \(table)") { tx in try tx.value(Int.self, "SELECT count(*) FROM \(table)") ?? 0 }
  }

  /// Inserts copied rows in one transaction, with the table's fencing triggers set aside.
  private func insertCopied(table: String, columns: [String], rows: [SQLRow]) async throws {
    let sql = """
      INSERT INTO \(table) (\(columns.joined(separator: ", ")))
      VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))
      """
    try await write("copy \(rows.count) rows into \(table)") { tx in
      let triggers: [(name: String, sql: String)]
      switch tx.dialect {
      case .postgres:
        try tx.execute("ALTER TABLE \(table) DISABLE TRIGGER USER")
        triggers = []
      case .sqlite:
        triggers = try tx.rows("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", table)
          .map { (try $0.decode(String.self, forColumn: "name"), try $0.decode(String.self, forColumn: "sql")) }
        for trigger in triggers { try tx.execute("DROP TRIGGER \(trigger.name)") }
      }
      for row in rows { try tx.execute(sql, arguments: row.values) }
      switch tx.dialect {
      case .postgres: try tx.execute("ALTER TABLE \(table) ENABLE TRIGGER USER")
      case .sqlite: for trigger in triggers { try tx.execute(trigger.sql) }
      }
    }
  }
}
