import GRDB

extension HistoryStore {
  /// Records `samples` in one transaction.
  public func recordHostSamples(_ samples: [HostSample]) async throws {
    guard !samples.isEmpty else { return }
    try await write("record \(samples.count) host samples") { db in
      let statement = try db.cachedStatement(
        sql: "INSERT INTO host_samples (cluster, host, at, cpu, memory) VALUES (?, ?, ?, ?, ?)")
      for sample in samples {
        try statement.execute(arguments: [sample.cluster, sample.host, sample.at, sample.cpu, sample.memory])
      }
    }
  }

  /// Samples of `cluster` (and `host`, when given) taken in `[since, until)`, oldest first.
  /// With `limit`, the most recent `limit` of them.
  public func hostSamples(
    cluster: String? = nil, host: String? = nil, since: Double? = nil, until: Double? = nil, limit: Int? = nil
  ) async throws -> [HostSample] {
    try await read("read host samples") { db in
      var filter = SQLConditions()
      filter.add("cluster = ?", cluster)
      filter.add("host = ?", host)
      filter.add("at >= ?", since)
      filter.add("at < ?", until)
      var sql =
        "SELECT cluster, host, at, cpu, memory FROM host_samples \(filter.whereClause) ORDER BY at DESC, id DESC"
      if let limit {
        sql += " LIMIT ?"
        filter.arguments.append(limit)
      }
      let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(filter.arguments))
      return try rows.reversed().map { row in
        HostSample(
          cluster: try row.decode(forColumn: "cluster"), host: try row.decode(forColumn: "host"),
          at: try row.decode(forColumn: "at"), cpu: try row.decode(forColumn: "cpu"),
          memory: try row.decode(forColumn: "memory"))
      }
    }
  }

  /// Deletes samples taken before `time` (of `cluster` only, when given); returns how many
  /// were deleted. The balancing loop calls it every round with its retention.
  @discardableResult
  public func pruneHostSamples(before time: Double, cluster: String? = nil) async throws -> Int {
    try await write("prune host samples") { db in
      var filter = SQLConditions()
      filter.add("at < ?", time)
      filter.add("cluster = ?", cluster)
      try db.execute(
        sql: "DELETE FROM host_samples \(filter.whereClause)", arguments: StatementArguments(filter.arguments))
      return db.changesCount
    }
  }

  /// Records a host entering or leaving maintenance.
  public func recordHostStateChange(_ change: HostStateChange) async throws {
    try await write("record the state change of host \(change.host)") { db in
      try db.execute(
        sql: """
          INSERT INTO host_state_changes (cluster, host, maintenance, changed_by, reason, at)
          VALUES (?, ?, ?, ?, ?, ?)
          """,
        arguments: [change.cluster, change.host, change.maintenance, change.by, change.reason, change.at])
    }
  }

  /// State changes of `cluster` (and `host`, when given) at or after `since`, oldest first.
  public func hostStateChanges(
    cluster: String? = nil, host: String? = nil, since: Double? = nil
  ) async throws
    -> [HostStateChange]
  {
    try await read("read host state changes") { db in
      var filter = SQLConditions()
      filter.add("cluster = ?", cluster)
      filter.add("host = ?", host)
      filter.add("at >= ?", since)
      return try Row.fetchAll(
        db, sql: "SELECT * FROM host_state_changes \(filter.whereClause) ORDER BY at, id",
        arguments: StatementArguments(filter.arguments)
      ).map(Self.hostStateChange)
    }
  }

  /// The latest state change of each host of `cluster`, keyed by host: which hosts the history
  /// says are in maintenance, by whom and why.
  public func latestHostStates(cluster: String) async throws -> [String: HostStateChange] {
    try await read("read the host states of cluster \(cluster)") { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT *, MAX(id) FROM host_state_changes WHERE cluster = ? GROUP BY host
          """,
        arguments: [cluster])
      var result: [String: HostStateChange] = [:]
      for row in rows {
        let change = try Self.hostStateChange(row)
        result[change.host] = change
      }
      return result
    }
  }

  static func hostStateChange(_ row: Row) throws -> HostStateChange {
    HostStateChange(
      cluster: try row.decode(forColumn: "cluster"), host: try row.decode(forColumn: "host"),
      maintenance: try row.decode(forColumn: "maintenance"), by: try row.decode(forColumn: "changed_by"),
      reason: try row.decode(forColumn: "reason"), at: try row.decode(forColumn: "at"))
  }
}
