import BallastEngine
import BallastModel
import GRDB

extension HistoryStore {
  /// Completed, executed moves with what they measured, oldest first, each with its place
  /// among its VM's completed moves; narrowed by `filter`'s VM, host, time, kind and cluster
  /// (a VM's place counts all its moves of that cluster, whatever the filter).
  public func accuracySamples(_ filter: MigrationFilter = MigrationFilter()) async throws -> [AccuracySample] {
    try await read("read predicted and measured figures") { db in
      var conditions = SQLConditions()
      conditions.add("m.outcome = 'completed' AND p.dry_run = 0 AND m.measured_seconds IS NOT NULL", when: true)
      conditions.add("p.cluster = ?", filter.cluster)
      conditions.add("m.vm = ?", filter.vm)
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT m.vm, p.cluster, m.kind, m.from_host, m.to_host, m.started_at, m.ended_at,
            m.predicted_seconds, m.measured_seconds, m.predicted_downtime_ms, m.measured_downtime_ms,
            m.predicted_bytes, m.measured_bytes
          FROM moves m JOIN plans p ON p.id = m.plan_id
          """ + " " + conditions.whereClause + " ORDER BY m.ended_at, m.id",
        arguments: StatementArguments(conditions.arguments))
      var ordinals: [String: Int] = [:]
      var samples: [AccuracySample] = []
      for row in rows {
        let vm: String = row["vm"]
        let cluster: String = row["cluster"]
        let key = cluster + "\u{0}" + vm
        ordinals[key, default: 0] += 1
        let from: String = row["from_host"]
        let to: String = row["to_host"]
        let started: Double? = row["started_at"]
        guard let kind = MigrationKind(rawValue: row["kind"]) else { continue }
        if let host = filter.host, host != from, host != to { continue }
        if let since = filter.since, (started ?? 0) < since { continue }
        if let wanted = filter.kind, wanted != kind { continue }
        samples.append(
          AccuracySample(
            vm: vm, kind: kind, at: row["ended_at"] ?? 0, ordinal: ordinals[key] ?? 1,
            predictedSeconds: row["predicted_seconds"], measuredSeconds: row["measured_seconds"],
            predictedDowntimeMs: row["predicted_downtime_ms"], measuredDowntimeMs: row["measured_downtime_ms"] ?? 0,
            predictedBytes: row["predicted_bytes"], measuredBytes: row["measured_bytes"] ?? 0))
      }
      return samples
    }
  }
}
