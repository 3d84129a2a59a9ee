import BallastEngine
import BallastModel

/// The engine's journal. Each call is one committed transaction: when it returns, the entry is
/// in the database, and the engine may act. Each call is applied once however often it is sent
/// (a client-made ``WriteKey``), and under a migration lease carries the lease's epoch, which
/// the database's fencing triggers check.
extension HistoryStore: MigrationJournal {
  /// Records `plan` and all its moves (as planned, not started). Dry runs are marked.
  public func recordPlan(_ plan: MigrationPlan, dryRun: Bool, at: Double) async throws -> PlanID {
    let epoch = Self.currentEpoch
    let values: [(String, SQLValue)] = [
      ("created_at", at.sqlValue),
      ("trigger_kind", plan.trigger.rawValue.sqlValue),
      ("policy", plan.policy.sqlValue),
      ("cluster", plan.cluster.sqlValue),
      ("dry_run", dryRun.sqlValue),
      ("refusal", plan.refusal.sqlValue),
      ("imbalance_before", plan.before.imbalance.sqlValue),
      ("imbalance_predicted_after", plan.after.imbalance.sqlValue),
      ("predicted_makespan_seconds", plan.predictedMakespanSeconds.sqlValue),
      ("hosts_before", try JSONColumn.encode(plan.before.hosts).sqlValue),
      ("hosts_predicted_after", try JSONColumn.encode(plan.after.hosts).sqlValue),
      ("rejected", try JSONColumn.encode(plan.rejected).sqlValue),
      ("lease_epoch", epoch.sqlValue),
    ]
    let moves = try plan.moves.map(MoveRow.values)
    let path = self.path
    let id = try await write("record the plan for cluster \(plan.cluster)", key: WriteKey()) { tx in
      let row = try tx.rows(
        """
        INSERT INTO plans (\(values.map(\.0).joined(separator: ", ")))
        VALUES (\(values.map { _ in "?" }.joined(separator: ", "))) RETURNING id
        """, arguments: values.map(\.1)
      ).first
      guard let row else { throw HistoryError(path: path, "cannot record the plan: the database returned no id") }
      let id: PlanID = try row.decode(forColumn: "id")
      for (position, move) in moves.enumerated() {
        _ = try MoveRow.insert(tx, plan: id, position: position, values: move, startedAt: nil, epoch: epoch)
      }
      return id
    }
    guard let id else { throw HistoryError(path: path, "cannot record the plan: the database returned no id") }
    return id
  }

  /// Marks move `index` of `plan` as started (recording `move` as it is now, which may differ
  /// from the plan's after the engine's re-checks).
  public func moveStarted(plan: PlanID, index: Int, move: PlannedMove, at: Double) async throws -> MoveID {
    let epoch = Self.currentEpoch
    let values = try MoveRow.values(move)
    let path = self.path
    let vm = move.vm
    let id = try await write("record the start of moving \(vm)", key: WriteKey()) { tx in
      guard try tx.row("SELECT 1 AS found FROM plans WHERE id = ?", plan) != nil else {
        throw HistoryError(path: path, "cannot record the start of moving \(vm): there is no plan \(plan)")
      }
      let planned = try tx.value(
        MoveID.self,
        "SELECT id FROM moves WHERE plan_id = ? AND position = ? AND started_at IS NULL ORDER BY id LIMIT 1",
        plan, index)
      if let planned {
        try MoveRow.update(tx, id: planned, values: values, startedAt: at, epoch: epoch)
        return planned
      }
      return try MoveRow.insert(tx, plan: plan, position: index, values: values, startedAt: at, epoch: epoch)
    }
    guard let id else { throw HistoryError(path: path, "cannot record the start of moving \(vm): no id returned") }
    return id
  }

  /// Records that `stage` of `move` is about to do its work (a new stage attempt).
  public func stageIntent(move: MoveID, stage: MigrationStage, at: Double) async throws {
    let epoch = Self.currentEpoch
    let path = self.path
    _ = try await write("record the intent of stage \(stage.rawValue) of move \(move)", key: WriteKey()) { tx in
      try Self.requireOpenMove(tx, move, path: path, writing: "the intent of stage \(stage.rawValue)")
      try tx.execute(
        "INSERT INTO stages (move_id, stage, number, intent_at, lease_epoch) VALUES (?, ?, ?, ?, ?)",
        move, stage.rawValue, stage.number, at, epoch)
      return nil
    }
  }

  /// Closes the latest open attempt of `stage` (or, when there is none — a rollback of an
  /// earlier stage — records the outcome on its own).
  public func stageOutcome(
    move: MoveID, stage: MigrationStage, outcome: StageOutcome, at: Double, figures: StageFigures, error: String?
  ) async throws {
    let figuresText = try JSONColumn.figures(figures)
    let epoch = Self.currentEpoch
    let path = self.path
    _ = try await write("record the outcome of stage \(stage.rawValue) of move \(move)", key: WriteKey()) { tx in
      try Self.requireOpenMove(tx, move, path: path, writing: "the outcome of stage \(stage.rawValue)")
      let open = try tx.value(
        Int64.self,
        "SELECT id FROM stages WHERE move_id = ? AND stage = ? AND ended_at IS NULL ORDER BY id DESC LIMIT 1",
        move, stage.rawValue)
      if let open {
        try tx.execute(
          "UPDATE stages SET ended_at = ?, outcome = ?, figures = ?, error = ?, lease_epoch = ? WHERE id = ?",
          at, outcome.rawValue, figuresText, error, epoch, open)
      } else {
        try tx.execute(
          """
          INSERT INTO stages (move_id, stage, number, ended_at, outcome, figures, error, lease_epoch)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          """,
          move, stage.rawValue, stage.number, at, outcome.rawValue, figuresText, error, epoch)
      }
      return nil
    }
  }

  /// Records how `move` ended, with its measurements next to its predictions.
  public func moveFinished(
    move: MoveID, outcome: MoveOutcome, measured: MeasuredCost?, at: Double, detail: String?
  ) async throws {
    let epoch = Self.currentEpoch
    let path = self.path
    _ = try await write("record the end of move \(move)", key: WriteKey()) { tx in
      try Self.requireOpenMove(tx, move, path: path, writing: "its end")
      try tx.execute(
        """
        UPDATE moves SET outcome = ?, detail = ?, ended_at = ?,
          measured_seconds = ?, measured_downtime_ms = ?, measured_bytes = ?, measured_rounds = ?, lease_epoch = ?
        WHERE id = ?
        """,
        outcome.rawValue, detail, at, measured?.seconds, measured?.downtimeMs, measured?.bytes, measured?.rounds, epoch,
        move)
      return nil
    }
  }

  /// Records that `plan` ended, with the imbalance measured afterwards.
  public func planFinished(plan: PlanID, measuredImbalanceAfter: Double?, at: Double) async throws {
    let epoch = Self.currentEpoch
    let path = self.path
    try await write("record the end of plan \(plan)") { tx in
      let changed = try tx.execute(
        "UPDATE plans SET ended_at = ?, imbalance_measured_after = ?, lease_epoch = ? WHERE id = ?",
        at, measuredImbalanceAfter, epoch, plan)
      if changed == 0 {
        throw HistoryError(path: path, "cannot record the end of plan \(plan): there is no such plan")
      }
    }
  }

  /// Moves started and never finished, oldest first, each with the last stage whose intent
  /// was written and whether that stage succeeded: those of plans for `cluster`, or of every
  /// cluster when it is `nil`.
  public func unfinishedMoves(cluster: String? = nil) async throws -> [UnfinishedMove] {
    try await read("read the unfinished moves" + (cluster.map { " of cluster \($0)" } ?? "")) { tx in
      var filter = SQLConditions()
      filter.add("m.started_at IS NOT NULL AND m.ended_at IS NULL", when: true)
      filter.add("p.cluster = ?", cluster)
      let rows = try tx.rows(
        """
        SELECT m.*, s.stage AS last_stage, s.outcome AS last_outcome
        FROM moves m
        JOIN plans p ON p.id = m.plan_id
        LEFT JOIN stages s ON s.id = (
          SELECT id FROM stages WHERE move_id = m.id AND intent_at IS NOT NULL ORDER BY id DESC LIMIT 1)
        \(filter.whereClause)
        ORDER BY m.id
        """, arguments: filter.arguments)
      return try rows.map { row in
        let stageText: String? = try row.decode(forColumn: "last_stage")
        let stage = try stageText.map { text in
          guard let stage = MigrationStage(rawValue: text) else { throw DecodingFailure("stages.stage", text) }
          return stage
        }
        let outcome: String? = try row.decode(forColumn: "last_outcome")
        return UnfinishedMove(
          id: try row.decode(forColumn: "id"), plan: try row.decode(forColumn: "plan_id"),
          move: try MoveRow.plannedMove(row), lastStage: stage,
          lastStageSucceeded: outcome == StageOutcome.succeeded.rawValue)
      }
    }
  }

  /// Throws unless `move` exists, has started and has not finished.
  static func requireOpenMove(_ tx: any SQLTransaction, _ move: MoveID, path: String, writing what: String) throws {
    guard let row = try tx.row("SELECT vm, started_at, ended_at FROM moves WHERE id = ?", move) else {
      throw HistoryError(path: path, "cannot record \(what) of move \(move): there is no such move")
    }
    let vm: String = try row.decode(forColumn: "vm")
    let started: Double? = try row.decode(forColumn: "started_at")
    let ended: Double? = try row.decode(forColumn: "ended_at")
    if started == nil {
      throw HistoryError(path: path, "cannot record \(what) of move \(move) (\(vm)): the move was never started")
    }
    if ended != nil {
      throw HistoryError(path: path, "cannot record \(what) of move \(move) (\(vm)): the move has already ended")
    }
  }
}
