extension HistoryStore {
  /// Records `samples` in one transaction (once, however often it is sent).
  public func recordHostSamples(_ samples: [HostSample]) async throws {
    guard !samples.isEmpty else { return }
    _ = try await write("record \(samples.count) host samples", key: WriteKey()) { tx in
      for sample in samples {
        try tx.execute(
          "INSERT INTO host_samples (cluster, host, at, cpu, memory) VALUES (?, ?, ?, ?, ?)",
          sample.cluster, sample.host, sample.at, sample.cpu, sample.memory)
      }
      return nil
    }
  }

  /// Samples of `cluster` (and `host`, when given) taken in `[since, until)`, oldest first.
  /// With `limit`, the most recent `limit` of them.
  public func hostSamples(
    cluster: String? = nil, host: String? = nil, since: Double? = nil, until: Double? = nil, limit: Int? = nil
  ) async throws -> [HostSample] {
    try await read("read host samples") { tx in
      var filter = SQLConditions()
      filter.add("cluster = ?", cluster)
      filter.add("host = ?", host)
      filter.add("at >= ?", since)
      filter.add("at < ?", until)
      var sql =
        "SELECT cluster, host, at, cpu, memory FROM host_samples \(filter.whereClause) ORDER BY at DESC, id DESC"
      if let limit {
        sql += " LIMIT ?"
        filter.arguments.append(limit.sqlValue)
      }
      return try tx.rows(sql, arguments: filter.arguments).reversed().map { row in
        HostSample(
          cluster: try row.decode(forColumn: "cluster"), host: try row.decode(forColumn: "host"),
          at: try row.decode(forColumn: "at"), cpu: try row.decode(forColumn: "cpu"),
          memory: try row.decode(forColumn: "memory"))
      }
    }
  }

  /// Deletes samples taken before `time` (of `cluster` only, when given); returns how many
  /// were deleted. The balancing loop calls it every round with its retention. Also forgets
  /// the keys of writes older than ``writeKeyRetention`` (a write is only ever sent again
  /// within seconds, while the database is unreachable).
  @discardableResult
  public func pruneHostSamples(before time: Double, cluster: String? = nil) async throws -> Int {
    try await write("prune host samples") { tx in
      var filter = SQLConditions()
      filter.add("at < ?", time)
      filter.add("cluster = ?", cluster)
      let pruned = try tx.execute("DELETE FROM host_samples \(filter.whereClause)", arguments: filter.arguments)
      try tx.execute("DELETE FROM write_keys WHERE at < ?", try tx.now() - Self.writeKeyRetention)
      return pruned
    }
  }

  /// How long the key of a write is kept, in seconds: far longer than a write is retried.
  static let writeKeyRetention = 86_400.0

  /// Records a host entering or leaving maintenance (once, however often it is sent).
  public func recordHostStateChange(_ change: HostStateChange) async throws {
    let epoch = Self.currentEpoch
    _ = try await write("record the state change of host \(change.host)", key: WriteKey()) { tx in
      try tx.execute(
        """
        INSERT INTO host_state_changes (cluster, host, maintenance, changed_by, reason, at, lease_epoch)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        """,
        change.cluster, change.host, change.maintenance, change.by, change.reason, change.at, epoch)
      return nil
    }
  }

  /// State changes of `cluster` (and `host`, when given) at or after `since`, oldest first.
  public func hostStateChanges(
    cluster: String? = nil, host: String? = nil, since: Double? = nil
  ) async throws
    -> [HostStateChange]
  {
    try await read("read host state changes") { tx in
      var filter = SQLConditions()
      filter.add("cluster = ?", cluster)
      filter.add("host = ?", host)
      filter.add("at >= ?", since)
      return try tx.rows(
        "SELECT * FROM host_state_changes \(filter.whereClause) ORDER BY at, id", arguments: filter.arguments
      ).map(Self.hostStateChange)
    }
  }

  /// The latest state change of each host of `cluster`, keyed by host: which hosts the history
  /// says are in maintenance, by whom and why.
  public func latestHostStates(cluster: String) async throws -> [String: HostStateChange] {
    try await read("read the host states of cluster \(cluster)") { tx in
      let rows = try tx.rows(
        """
        SELECT * FROM host_state_changes
        WHERE id IN (SELECT MAX(id) FROM host_state_changes WHERE cluster = ? GROUP BY host)
        """, cluster)
      var result: [String: HostStateChange] = [:]
      for row in rows {
        let change = try Self.hostStateChange(row)
        result[change.host] = change
      }
      return result
    }
  }

  static func hostStateChange(_ row: SQLRow) throws -> HostStateChange {
    HostStateChange(
      cluster: try row.decode(forColumn: "cluster"), host: try row.decode(forColumn: "host"),
      maintenance: try row.decode(forColumn: "maintenance"), by: try row.decode(forColumn: "changed_by"),
      reason: try row.decode(forColumn: "reason"), at: try row.decode(forColumn: "at"))
  }
}
