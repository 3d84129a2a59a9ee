import BallastEngine
import BallastModel
import GRDB

/// The engine's journal, in SQLite. Each call is one committed transaction: when it returns,
/// the entry is on disk, and the engine may act.
extension HistoryStore: MigrationJournal {
  /// Records `plan` and all its moves (as planned, not started). Dry runs are marked.
  public func recordPlan(_ plan: MigrationPlan, dryRun: Bool, at: Double) async throws -> PlanID {
    let values: [String: (any DatabaseValueConvertible)?] = [
      "created_at": at,
      "trigger_kind": plan.trigger.rawValue,
      "policy": plan.policy,
      "cluster": plan.cluster,
      "dry_run": dryRun,
      "refusal": plan.refusal,
      "imbalance_before": plan.before.imbalance,
      "imbalance_predicted_after": plan.after.imbalance,
      "predicted_makespan_seconds": plan.predictedMakespanSeconds,
      "hosts_before": try JSONColumn.encode(plan.before.hosts),
      "hosts_predicted_after": try JSONColumn.encode(plan.after.hosts),
      "rejected": try JSONColumn.encode(plan.rejected),
    ]
    let arguments = values.mapValues { $0?.databaseValue ?? .null }
    let moves = plan.moves
    return try await write("record the plan for cluster \(plan.cluster)") { db in
      let names = arguments.keys.sorted()
      try db.execute(
        sql: """
          INSERT INTO plans (\(names.joined(separator: ", ")))
          VALUES (\(names.map { ":" + $0 }.joined(separator: ", ")))
          """,
        arguments: StatementArguments.named(arguments))
      let id = db.lastInsertedRowID
      for (position, move) in moves.enumerated() {
        _ = try MoveRow.insert(db, plan: id, position: position, move: move, startedAt: nil)
      }
      return id
    }
  }

  /// Marks move `index` of `plan` as started (recording `move` as it is now, which may differ
  /// from the plan's after the engine's re-checks).
  public func moveStarted(plan: PlanID, index: Int, move: PlannedMove, at: Double) async throws -> MoveID {
    try await write("record the start of moving \(move.vm)") { db in
      guard try Bool.fetchOne(db, sql: "SELECT 1 FROM plans WHERE id = ?", arguments: [plan]) != nil else {
        throw HistoryError(path: path, "cannot record the start of moving \(move.vm): there is no plan \(plan)")
      }
      let planned = try MoveID.fetchOne(
        db,
        sql: "SELECT id FROM moves WHERE plan_id = ? AND position = ? AND started_at IS NULL ORDER BY id LIMIT 1",
        arguments: [plan, index])
      if let planned {
        try MoveRow.update(db, id: planned, move: move, startedAt: at)
        return planned
      }
      return try MoveRow.insert(db, plan: plan, position: index, move: move, startedAt: at)
    }
  }

  /// Records that `stage` of `move` is about to do its work (a new stage attempt).
  public func stageIntent(move: MoveID, stage: MigrationStage, at: Double) async throws {
    try await write("record the intent of stage \(stage.rawValue) of move \(move)") { db in
      try requireOpenMove(db, move, writing: "the intent of stage \(stage.rawValue)")
      try db.execute(
        sql: "INSERT INTO stages (move_id, stage, number, intent_at) VALUES (?, ?, ?, ?)",
        arguments: [move, stage.rawValue, stage.number, at])
    }
  }

  /// Closes the latest open attempt of `stage` (or, when there is none — a rollback of an
  /// earlier stage — records the outcome on its own).
  public func stageOutcome(
    move: MoveID, stage: MigrationStage, outcome: StageOutcome, at: Double, figures: StageFigures, error: String?
  ) async throws {
    let figuresText = try JSONColumn.figures(figures)
    try await write("record the outcome of stage \(stage.rawValue) of move \(move)") { db in
      try requireOpenMove(db, move, writing: "the outcome of stage \(stage.rawValue)")
      let open = try Int64.fetchOne(
        db,
        sql: """
          SELECT id FROM stages WHERE move_id = ? AND stage = ? AND ended_at IS NULL
          ORDER BY id DESC LIMIT 1
          """,
        arguments: [move, stage.rawValue])
      if let open {
        try db.execute(
          sql: "UPDATE stages SET ended_at = ?, outcome = ?, figures = ?, error = ? WHERE id = ?",
          arguments: [at, outcome.rawValue, figuresText, error, open])
      } else {
        try db.execute(
          sql: """
            INSERT INTO stages (move_id, stage, number, ended_at, outcome, figures, error)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
          arguments: [move, stage.rawValue, stage.number, at, outcome.rawValue, figuresText, error])
      }
    }
  }

  /// Records how `move` ended, with its measurements next to its predictions.
  public func moveFinished(
    move: MoveID, outcome: MoveOutcome, measured: MeasuredCost?, at: Double, detail: String?
  ) async throws {
    try await write("record the end of move \(move)") { db in
      try requireOpenMove(db, move, writing: "its end")
      try db.execute(
        sql: """
          UPDATE moves SET outcome = ?, detail = ?, ended_at = ?,
            measured_seconds = ?, measured_downtime_ms = ?, measured_bytes = ?, measured_rounds = ?
          WHERE id = ?
          """,
        arguments: [
          outcome.rawValue, detail, at, measured?.seconds, measured?.downtimeMs, measured?.bytes, measured?.rounds,
          move,
        ])
    }
  }

  /// Records that `plan` ended, with the imbalance measured afterwards.
  public func planFinished(plan: PlanID, measuredImbalanceAfter: Double?, at: Double) async throws {
    try await write("record the end of plan \(plan)") { db in
      try db.execute(
        sql: "UPDATE plans SET ended_at = ?, imbalance_measured_after = ? WHERE id = ?",
        arguments: [at, measuredImbalanceAfter, plan])
      if db.changesCount == 0 {
        throw HistoryError(path: path, "cannot record the end of plan \(plan): there is no such plan")
      }
    }
  }

  /// Moves started and never finished, oldest first, each with the last stage whose intent
  /// was written and whether that stage succeeded: those of plans for `cluster`, or of every
  /// cluster when it is `nil`.
  public func unfinishedMoves(cluster: String? = nil) async throws -> [UnfinishedMove] {
    try await read("read the unfinished moves" + (cluster.map { " of cluster \($0)" } ?? "")) { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT m.*, s.stage AS last_stage, s.outcome AS last_outcome
          FROM moves m
          JOIN plans p ON p.id = m.plan_id
          LEFT JOIN stages s ON s.id = (
            SELECT id FROM stages WHERE move_id = m.id AND intent_at IS NOT NULL ORDER BY id DESC LIMIT 1)
          WHERE m.started_at IS NOT NULL AND m.ended_at IS NULL AND (?1 IS NULL OR p.cluster = ?1)
          ORDER BY m.id
          """, arguments: [cluster])
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
  private func requireOpenMove(_ db: Database, _ move: MoveID, writing what: String) throws {
    let row = try Row.fetchOne(db, sql: "SELECT vm, started_at, ended_at FROM moves WHERE id = ?", arguments: [move])
    guard let row else {
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
