import BallastEngine
import BallastModel

extension HistoryStore {
  /// Recorded moves matching `filter`, most recent first.
  public func migrations(_ filter: MigrationFilter = MigrationFilter()) async throws -> [MigrationRecord] {
    try await read("list migrations") { tx in
      var conditions: [String] = []
      var arguments: [SQLValue] = []
      if !filter.includePlanned { conditions.append("m.started_at IS NOT NULL") }
      if let vm = filter.vm {
        conditions.append("m.vm = ?")
        arguments.append(vm.sqlValue)
      }
      if let host = filter.host {
        conditions.append("(m.from_host = ? OR m.to_host = ?)")
        arguments += [host.sqlValue, host.sqlValue]
      }
      if let since = filter.since {
        conditions.append("coalesce(m.started_at, p.created_at) >= ?")
        arguments.append(since.sqlValue)
      }
      if let kind = filter.kind {
        conditions.append("m.kind = ?")
        arguments.append(kind.rawValue.sqlValue)
      }
      if filter.failedOnly { conditions.append("m.outcome IN ('rolledBack', 'needsAttention')") }
      if let cluster = filter.cluster {
        conditions.append("p.cluster = ?")
        arguments.append(cluster.sqlValue)
      }
      arguments.append(filter.limit.sqlValue)
      let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
      // Pick the rows first (indexes serve the filter and the order), then compute the per-move
      // subqueries of `migrationSelect` for those rows only.
      let sortTime = filter.includePlanned ? "coalesce(m.started_at, p.created_at)" : "m.started_at"
      let rows = try tx.rows(
        """
        WITH picked AS (
          SELECT m.id, \(sortTime) AS sort_time FROM moves m JOIN plans p ON p.id = m.plan_id
          \(whereClause)
          ORDER BY sort_time DESC, m.id DESC
          LIMIT ?)
        """ + Self.migrationSelect + """
           JOIN picked ON picked.id = m.id
          ORDER BY picked.sort_time DESC, m.id DESC
          """,
        arguments: arguments)
      return try rows.map(Self.migrationRecord)
    }
  }

  /// One move with its stage attempts, or `nil` when there is no move `id`.
  public func migration(id: MoveID) async throws -> MigrationDetail? {
    try await read("read migration \(id)") { tx in
      guard let row = try tx.row(Self.migrationSelect + " WHERE m.id = ?", id) else {
        return nil
      }
      let stages = try tx.rows("SELECT * FROM stages WHERE move_id = ? ORDER BY id", id).map(Self.stageRecord)
      return MigrationDetail(migration: try Self.migrationRecord(row), stages: stages)
    }
  }

  /// Recorded plans, most recent first, with their imbalance before → predicted → measured.
  public func plans(
    cluster: String? = nil, since: Double? = nil, includeDryRuns: Bool = true, limit: Int = 50
  ) async throws -> [PlanRecord] {
    try await read("list plans") { tx in
      var filter = SQLConditions()
      filter.add("p.cluster = ?", cluster)
      filter.add("p.created_at >= ?", since)
      filter.add("p.dry_run = 0", when: !includeDryRuns)
      filter.arguments.append(limit.sqlValue)
      return try tx.rows(
        Self.planSelect + """
           \(filter.whereClause)
          ORDER BY p.created_at DESC, p.id DESC
          LIMIT ?
          """,
        arguments: filter.arguments
      ).map(Self.planRecord)
    }
  }

  /// One plan with its host views, rejections and moves, or `nil` when there is no plan `id`.
  public func plan(id: PlanID) async throws -> PlanDetail? {
    try await read("read plan \(id)") { tx in
      guard let row = try tx.row(Self.planSelect + " WHERE p.id = ?", id) else {
        return nil
      }
      let moves = try tx.rows(Self.migrationSelect + " WHERE m.plan_id = ? ORDER BY m.position, m.id", id)
        .map(Self.migrationRecord)
      return PlanDetail(
        plan: try Self.planRecord(row),
        hostsBefore: try JSONColumn.decode([HostView].self, from: try row.decode(forColumn: "hosts_before")),
        hostsPredictedAfter: try JSONColumn.decode(
          [HostView].self, from: try row.decode(forColumn: "hosts_predicted_after")),
        rejected: try JSONColumn.decode([Rejection].self, from: try row.decode(forColumn: "rejected")),
        moves: moves)
    }
  }

  /// The last completed (not dry-run) move of each VM, keyed by VM name; only moves that ended
  /// at or after `since` when given. `.cooldownMap` gives the planner's `[vm: (at, from)]`.
  public func lastMoves(cluster: String? = nil, since: Double? = nil) async throws -> [String: LastMove] {
    try await read("read the last move of each VM") { tx in
      var filter = SQLConditions()
      filter.add("m.outcome = 'completed' AND p.dry_run = 0 AND m.ended_at IS NOT NULL", when: true)
      filter.add("p.cluster = ?", cluster)
      filter.add("m.ended_at >= ?", since)
      let rows = try tx.rows(
        """
        SELECT vm, at, from_host, to_host, id FROM (
          SELECT m.vm, m.ended_at AS at, m.from_host, m.to_host, m.id,
            ROW_NUMBER() OVER (PARTITION BY m.vm ORDER BY m.ended_at DESC, m.id DESC) AS latest
          FROM moves m JOIN plans p ON p.id = m.plan_id
          \(filter.whereClause)) ranked
        WHERE latest = 1
        """, arguments: filter.arguments)
      var result: [String: LastMove] = [:]
      for row in rows {
        let last = LastMove(
          vm: try row.decode(forColumn: "vm"), at: try row.decode(forColumn: "at"),
          from: try row.decode(forColumn: "from_host"), to: try row.decode(forColumn: "to_host"),
          move: try row.decode(forColumn: "id"))
        result[last.vm] = last
      }
      return result
    }
  }

  // MARK: Rows

  static let migrationSelect = """
    SELECT m.*, p.cluster, p.trigger_kind, p.dry_run,
      (SELECT stage FROM stages WHERE move_id = m.id AND intent_at IS NOT NULL ORDER BY id DESC LIMIT 1)
        AS last_stage,
      (SELECT error FROM stages WHERE move_id = m.id AND error IS NOT NULL ORDER BY id DESC LIMIT 1)
        AS last_error
    FROM moves m JOIN plans p ON p.id = m.plan_id
    """

  static let planSelect = """
    SELECT p.*,
      (SELECT count(*) FROM moves WHERE plan_id = p.id) AS move_count,
      (SELECT count(*) FROM moves WHERE plan_id = p.id AND started_at IS NOT NULL) AS started_count,
      (SELECT count(*) FROM moves WHERE plan_id = p.id AND outcome = 'completed') AS completed_count,
      (SELECT count(*) FROM moves WHERE plan_id = p.id AND outcome IN ('rolledBack', 'needsAttention'))
        AS failed_count
    FROM plans p
    """

  static func migrationRecord(_ row: SQLRow) throws -> MigrationRecord {
    let move = try MoveRow.plannedMove(row)
    let measuredSeconds: Double? = try row.decode(forColumn: "measured_seconds")
    var measured: MeasuredCost?
    if let measuredSeconds {
      measured = MeasuredCost(
        seconds: measuredSeconds,
        downtimeMs: try row.decode(Double?.self, forColumn: "measured_downtime_ms") ?? 0,
        bytes: try row.decode(Double?.self, forColumn: "measured_bytes") ?? 0,
        rounds: try row.decode(Int?.self, forColumn: "measured_rounds") ?? 0)
    }
    return MigrationRecord(
      id: try row.decode(forColumn: "id"),
      plan: try row.decode(forColumn: "plan_id"),
      cluster: try row.decode(forColumn: "cluster"),
      trigger: try decodeEnum(PlanTrigger.self, row, "trigger_kind"),
      dryRun: try row.decode(forColumn: "dry_run"),
      index: try row.decode(forColumn: "position"),
      vm: move.vm, from: move.from, to: move.to, kind: move.kind, reason: move.reason,
      requiresShutdown: move.requiresShutdown, predicted: move.predicted, measured: measured,
      outcome: try decodeOptionalEnum(MoveOutcome.self, row, "outcome"),
      detail: try row.decode(forColumn: "detail"),
      startedAt: try row.decode(forColumn: "started_at"),
      endedAt: try row.decode(forColumn: "ended_at"),
      lastStage: try decodeOptionalEnum(MigrationStage.self, row, "last_stage"),
      lastError: try row.decode(forColumn: "last_error"))
  }

  static func stageRecord(_ row: SQLRow) throws -> StageRecord {
    let figuresText: String? = try row.decode(forColumn: "figures")
    return StageRecord(
      id: try row.decode(forColumn: "id"),
      stage: try decodeEnum(MigrationStage.self, row, "stage"),
      number: try row.decode(forColumn: "number"),
      intentAt: try row.decode(forColumn: "intent_at"),
      endedAt: try row.decode(forColumn: "ended_at"),
      outcome: try decodeOptionalEnum(StageOutcome.self, row, "outcome"),
      figures: try figuresText.map { try JSONColumn.decode(StageFigures.self, from: $0) },
      error: try row.decode(forColumn: "error"))
  }

  static func planRecord(_ row: SQLRow) throws -> PlanRecord {
    PlanRecord(
      id: try row.decode(forColumn: "id"),
      createdAt: try row.decode(forColumn: "created_at"),
      endedAt: try row.decode(forColumn: "ended_at"),
      trigger: try decodeEnum(PlanTrigger.self, row, "trigger_kind"),
      policy: try row.decode(forColumn: "policy"),
      cluster: try row.decode(forColumn: "cluster"),
      dryRun: try row.decode(forColumn: "dry_run"),
      refusal: try row.decode(forColumn: "refusal"),
      imbalanceBefore: try row.decode(forColumn: "imbalance_before"),
      imbalancePredictedAfter: try row.decode(forColumn: "imbalance_predicted_after"),
      imbalanceMeasuredAfter: try row.decode(forColumn: "imbalance_measured_after"),
      predictedMakespanSeconds: try row.decode(forColumn: "predicted_makespan_seconds"),
      moves: try row.decode(forColumn: "move_count"),
      started: try row.decode(forColumn: "started_count"),
      completed: try row.decode(forColumn: "completed_count"),
      failed: try row.decode(forColumn: "failed_count"))
  }

  static func decodeEnum<E: RawRepresentable>(_ type: E.Type, _ row: SQLRow, _ column: String) throws -> E
  where E.RawValue == String {
    let text: String = try row.decode(forColumn: column)
    guard let value = E(rawValue: text) else { throw DecodingFailure(column, text) }
    return value
  }

  static func decodeOptionalEnum<E: RawRepresentable>(_ type: E.Type, _ row: SQLRow, _ column: String) throws -> E?
  where E.RawValue == String {
    guard let text: String = try row.decode(forColumn: column) else { return nil }
    guard let value = E(rawValue: text) else { throw DecodingFailure(column, text) }
    return value
  }
}
