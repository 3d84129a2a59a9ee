import BallastEngine
import BallastModel
import Testing

@testable import BallastHistory

/// One row of `stages`, as read straight from the table.
private struct StageRow: Equatable {
  var stage: String
  var intentAt: Double?
  var endedAt: Double?
  var outcome: String?
}

private func stageRows(_ store: HistoryStore, move: MoveID) async throws -> [StageRow] {
  try await store.rowsForTest(
    "SELECT stage, intent_at, ended_at, outcome FROM stages WHERE move_id = ? ORDER BY id", move
  )
  .map {
    StageRow(
      stage: try $0.decode(forColumn: "stage"), intentAt: try $0.decode(forColumn: "intent_at"),
      endedAt: try $0.decode(forColumn: "ended_at"), outcome: try $0.decode(forColumn: "outcome"))
  }
}

@Suite("Journal")
struct JournalTests {
  /// The engine's sequence for one move, checked against the tables after every call: each
  /// intent is on disk (and open) before the stage's work, each outcome closes it.
  @Test(
    "intent before outcome, for a live and a cold migration", arguments: Backend.allCases, [MigrationKind.live, .cold])
  func journalOrder(backend: Backend, kind: MigrationKind) async throws {
    try await withStore(backend) { store, _ in
      let move = kind == .live ? liveMove("web1", from: "h1", to: "h2") : coldMove("web1", from: "h1", to: "h2")
      let planID = try await store.recordPlan(plan([move]), dryRun: false, at: 100)
      let id = try await store.moveStarted(plan: planID, index: 0, move: move, at: 101)
      var expected: [StageRow] = []
      var t = 101.0
      for stage in MigrationStage.stages(for: kind) {
        try await store.stageIntent(move: id, stage: stage, at: t)
        expected.append(StageRow(stage: stage.rawValue, intentAt: t, endedAt: nil, outcome: nil))
        // Between intent and outcome (where the driver acts) the intent is committed and readable
        // by another connection, and the move counts as unfinished at this stage.
        #expect(try await stageRows(store, move: id) == expected)
        let unfinished = try #require(try await store.unfinishedMoves().first)
        #expect(unfinished.lastStage == stage)
        #expect(unfinished.lastStageSucceeded == false)
        t += 2
        try await store.stageOutcome(
          move: id, stage: stage, outcome: .succeeded, at: t, figures: StageFigures(round: 1), error: nil)
        expected[expected.count - 1].endedAt = t
        expected[expected.count - 1].outcome = "succeeded"
        #expect(try await stageRows(store, move: id) == expected)
        #expect(try await store.unfinishedMoves().first?.lastStageSucceeded == true)
      }
      #expect(expected.map(\.stage) == MigrationStage.stages(for: kind).map(\.rawValue))
      #expect(zip(expected, expected.dropFirst()).allSatisfy { ($0.endedAt ?? 0) <= ($1.intentAt ?? 0) })
      try await store.moveFinished(
        move: id, outcome: .completed, measured: MeasuredCost(seconds: 12, downtimeMs: 70, bytes: 4e9, rounds: 4),
        at: t, detail: nil)
      try await store.planFinished(plan: planID, measuredImbalanceAfter: 0.12, at: t + 1)
      #expect(try await store.unfinishedMoves().isEmpty)
      let record = try #require(try await store.migration(id: id))
      #expect(record.migration.outcome == .completed)
      #expect(record.migration.kind == kind)
      #expect(record.migration.measured?.downtimeMs == 70)
      #expect(record.stages.map(\.figures?.round) == Array(repeating: 1, count: 6))
    }
  }

  @Test("dry runs are recorded, marked, with their planned moves never started", arguments: Backend.allCases)
  func dryRun(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let moves = [liveMove("web1", from: "h1", to: "h2"), coldMove("db1", from: "h1", to: "h3")]
      let id = try await store.recordPlan(plan(moves), dryRun: true, at: 50)
      let plans = try await store.plans()
      #expect(plans.map(\.id) == [id])
      #expect(plans.first?.dryRun == true)
      #expect(plans.first?.moves == 2)
      #expect(plans.first?.started == 0)
      #expect(try await store.migrations().isEmpty)
      let planned = try await store.migrations(MigrationFilter(includePlanned: true))
      #expect(Set(planned.map(\.vm)) == ["web1", "db1"])
      #expect(planned.allSatisfy { $0.dryRun && $0.startedAt == nil && $0.status == "planned" })
      #expect(try await store.unfinishedMoves().isEmpty)
    }
  }

  @Test("a started move keeps what the engine started, even when it differs from the plan", arguments: Backend.allCases)
  func moveStartedUpdatesThePlannedRow(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let planned = liveMove("web1", from: "h1", to: "h2")
      let planID = try await store.recordPlan(plan([planned]), dryRun: false, at: 1)
      var rechecked = planned
      rechecked.to = "h3"
      let id = try await store.moveStarted(plan: planID, index: 0, move: rechecked, at: 2)
      let rows = try await store.migrations(MigrationFilter(includePlanned: true))
      #expect(rows.map(\.id) == [id])
      #expect(rows.first?.to == "h3")
      // A move outside the plan's list gets its own row.
      let extra = try await store.moveStarted(
        plan: planID, index: 5, move: liveMove("web9", from: "h2", to: "h1"), at: 3)
      #expect(extra != id)
      #expect(try await store.unfinishedMoves().map(\.id) == [id, extra])
      #expect(try await store.unfinishedMoves().first?.move == rechecked)
    }
  }

  @Test("a rollback of an earlier stage is recorded as an outcome without intent", arguments: Backend.allCases)
  func outcomeWithoutIntent(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let move = liveMove("web1", from: "h1", to: "h2")
      let planID = try await store.recordPlan(plan([move]), dryRun: false, at: 1)
      let id = try await store.moveStarted(plan: planID, index: 0, move: move, at: 1)
      for stage in [MigrationStage.preMigration, .reservation] {
        try await store.stageIntent(move: id, stage: stage, at: 2)
        try await store.stageOutcome(move: id, stage: stage, outcome: .succeeded, at: 3, figures: .init(), error: nil)
      }
      try await store.stageIntent(move: id, stage: .preCopy, at: 4)
      try await store.stageOutcome(
        move: id, stage: .preCopy, outcome: .failed, at: 5, figures: StageFigures(round: 7, remaining: 1e9),
        error: "link to h2 down")
      try await store.stageOutcome(
        move: id, stage: .reservation, outcome: .rolledBack, at: 6, figures: .init(), error: nil)
      let rows = try await stageRows(store, move: id)
      #expect(rows.map(\.stage) == ["preMigration", "reservation", "preCopy", "reservation"])
      #expect(rows.last == StageRow(stage: "reservation", intentAt: nil, endedAt: 6, outcome: "rolledBack"))
      // The last stage is the last one whose intent was written.
      let unfinished = try #require(try await store.unfinishedMoves().first)
      #expect(unfinished.lastStage == .preCopy)
      #expect(unfinished.lastStageSucceeded == false)
      let detail = try #require(try await store.migration(id: id))
      #expect(detail.migration.lastError == "link to h2 down")
      #expect(detail.stages[2].figures == StageFigures(round: 7, remaining: 1e9))
      #expect(detail.stages[0].figures == nil)
    }
  }

  @Test("writes for unknown, unstarted or finished moves fail with the move named", arguments: Backend.allCases)
  func invalidWrites(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      await #expect(throws: HistoryError.self) { try await store.stageIntent(move: 42, stage: .preCopy, at: 1) }
      await #expect(throws: HistoryError.self) {
        _ = try await store.moveStarted(plan: 7, index: 0, move: liveMove("a", from: "h1", to: "h2"), at: 1)
      }
      let move = liveMove("web1", from: "h1", to: "h2")
      let planID = try await store.recordPlan(plan([move]), dryRun: false, at: 1)
      let id = try await journalMove(store, plan: planID, index: 0, move, at: 2)
      let error = try await #require(throws: HistoryError.self) {
        try await store.stageIntent(move: id, stage: .activation, at: 30)
      }
      #expect(error.message.contains("web1"))
      #expect(error.message.contains("already ended"))
      await #expect(throws: HistoryError.self) {
        try await store.moveFinished(move: id, outcome: .rolledBack, measured: nil, at: 31, detail: nil)
      }
      await #expect(throws: HistoryError.self) {
        try await store.planFinished(plan: 999, measuredImbalanceAfter: nil, at: 1)
      }
    }
  }

  @Test("the plan's figures are stored as readable JSON and read back exactly", arguments: Backend.allCases)
  func planDetail(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let moves = [liveMove("web1", from: "h1", to: "h2"), coldMove("db1", from: "h1", to: "h3")]
      let recorded = plan(moves)
      let id = try await store.recordPlan(recorded, dryRun: false, at: 10)
      try await store.planFinished(plan: id, measuredImbalanceAfter: 0.11, at: 60)
      let detail = try #require(try await store.plan(id: id))
      #expect(detail.hostsBefore == recorded.before.hosts)
      #expect(detail.hostsPredictedAfter == recorded.after.hosts)
      #expect(detail.rejected == recorded.rejected)
      #expect(detail.moves.map(\.vm) == ["web1", "db1"])
      #expect(detail.plan.imbalanceMeasuredAfter == 0.11)
      #expect(detail.plan.endedAt == 60)
      // The cold move's disk size survives to the byte (not rounded like `8GiB`).
      let disks: String? = try await store.rowsForTest("SELECT disks_to_copy FROM moves WHERE vm = 'db1'").first?
        .decode(forColumn: "disks_to_copy")
      #expect(disks?.contains("21474836481") == true)
      let id2 = try await store.moveStarted(plan: id, index: 1, move: moves[1], at: 11)
      #expect(try await store.unfinishedMoves().first { $0.id == id2 }?.move == moves[1])
    }
  }
}
