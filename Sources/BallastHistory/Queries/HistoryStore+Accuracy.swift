import BallastEngine
import BallastModel

extension HistoryStore {
  /// Completed, executed moves with what they measured, oldest first, each with its place
  /// among its VM's completed moves; narrowed by `filter`'s VM, host, time, kind and cluster
  /// (a VM's place counts all its moves of that cluster, whatever the filter).
  public func accuracySamples(_ filter: MigrationFilter = MigrationFilter()) async throws -> [AccuracySample] {
    try await read("read predicted and measured figures") { tx in
      var conditions = SQLConditions()
      conditions.add("m.outcome = 'completed' AND p.dry_run = 0 AND m.measured_seconds IS NOT NULL", when: true)
      conditions.add("p.cluster = ?", filter.cluster)
      conditions.add("m.vm = ?", filter.vm)
      let rows = try tx.rows(
        """
        SELECT m.vm, p.cluster, m.kind, m.from_host, m.to_host, m.started_at, m.ended_at,
          m.predicted_seconds, m.measured_seconds, m.predicted_downtime_ms, m.measured_downtime_ms,
          m.predicted_bytes, m.measured_bytes
        FROM moves m JOIN plans p ON p.id = m.plan_id
        """ + " " + conditions.whereClause + " ORDER BY m.ended_at, m.id",
        arguments: conditions.arguments)
      var ordinals: [String: Int] = [:]
      var samples: [AccuracySample] = []
      for row in rows {
        let vm: String = try row.decode(forColumn: "vm")
        let cluster: String = try row.decode(forColumn: "cluster")
        let key = cluster + "\u{0}" + vm
        ordinals[key, default: 0] += 1
        let from: String = try row.decode(forColumn: "from_host")
        let to: String = try row.decode(forColumn: "to_host")
        let started: Double? = try row.decode(forColumn: "started_at")
        guard let kind = MigrationKind(rawValue: try row.decode(forColumn: "kind")) else { continue }
        if let host = filter.host, host != from, host != to { continue }
        if let since = filter.since, (started ?? 0) < since { continue }
        if let wanted = filter.kind, wanted != kind { continue }
        let ended: Double? = try row.decode(forColumn: "ended_at")
        let measuredDowntime: Double? = try row.decode(forColumn: "measured_downtime_ms")
        let measuredBytes: Double? = try row.decode(forColumn: "measured_bytes")
        samples.append(
          AccuracySample(
            vm: vm, kind: kind, at: ended ?? 0, ordinal: ordinals[key] ?? 1,
            predictedSeconds: try row.decode(forColumn: "predicted_seconds"),
            measuredSeconds: try row.decode(forColumn: "measured_seconds"),
            predictedDowntimeMs: try row.decode(forColumn: "predicted_downtime_ms"),
            measuredDowntimeMs: measuredDowntime ?? 0,
            predictedBytes: try row.decode(forColumn: "predicted_bytes"), measuredBytes: measuredBytes ?? 0))
      }
      return samples
    }
  }
}
