import BallastEngine
import BallastModel
import Foundation
import Synchronization
import Testing

/// A journal whose lease is taken over at a chosen moment: from then on it refuses every write
/// with ``JournalFenced``, as the history does for a process that lost its lease.
actor FencingJournal: MigrationJournal {
  let inner = InMemoryJournal()
  nonisolated let fenced = Mutex(false)
  private(set) var refused = 0

  private func check() throws {
    guard fenced.withLock({ $0 }) else { return }
    refused += 1
    throw JournalFenced(cluster: "test", epoch: 7, detail: "ballast-fenced: the lease is at epoch 8")
  }

  func recordPlan(_ plan: MigrationPlan, dryRun: Bool, at: Double) async throws -> PlanID {
    try check()
    return await inner.recordPlan(plan, dryRun: dryRun, at: at)
  }
  func moveStarted(plan: PlanID, index: Int, move: PlannedMove, at: Double) async throws -> MoveID {
    try check()
    return await inner.moveStarted(plan: plan, index: index, move: move, at: at)
  }
  func stageIntent(move: MoveID, stage: MigrationStage, at: Double) async throws {
    try check()
    await inner.stageIntent(move: move, stage: stage, at: at)
  }
  func stageOutcome(
    move: MoveID, stage: MigrationStage, outcome: StageOutcome, at: Double, figures: StageFigures, error: String?
  ) async throws {
    try check()
    await inner.stageOutcome(move: move, stage: stage, outcome: outcome, at: at, figures: figures, error: error)
  }
  func moveFinished(
    move: MoveID, outcome: MoveOutcome, measured: MeasuredCost?, at: Double, detail: String?
  )
    async throws
  {
    try check()
    await inner.moveFinished(move: move, outcome: outcome, measured: measured, at: at, detail: detail)
  }
  func planFinished(plan: PlanID, measuredImbalanceAfter: Double?, at: Double) async throws {
    try check()
    await inner.planFinished(plan: plan, measuredImbalanceAfter: measuredImbalanceAfter, at: at)
  }
  func unfinishedMoves(cluster: String?) async throws -> [UnfinishedMove] {
    await inner.unfinishedMoves(cluster: cluster)
  }
  func recordObservation(
    _ observation: MigrationObservation, move: MoveID, learn: Bool, settings: LearningSettings
  ) async throws {
    try check()
    await inner.recordObservation(observation, move: move, learn: learn, settings: settings)
  }
  func learnedEstimates(cluster: String) async throws -> LearnedEstimates {
    await inner.learnedEstimates(cluster: cluster)
  }
}

@Suite("A fenced journal stops the engine")
struct FencedJournalTests {
  /// The lease is lost while a live move's pre-copy runs: the pre-copy's outcome is refused, and
  /// from then on the engine touches no VM — no stop-and-copy, no rollback of the reservation
  /// (the new holder's reconcile decides) — and starts no other move.
  @Test("after a refused write the engine runs no step and no rollback, and starts nothing else")
  func standsDown() async throws {
    let cluster = Fixture.cluster(hostCount: 3, vms: [Fixture.vm("a", on: "h0"), Fixture.vm("b", on: "h0")])
    let journal = FencingJournal()
    let driver = try SimulatedDriver(cluster: cluster, store: InMemoryStateStore())
    let steps = Mutex<[String]>([])
    let engine = MigrationEngine(
      simulated: driver, journal: journal, policy: Fixture.policy(perHost: 1, cluster: 1),
      observer: { event in
        if event.type == .stageStarted, let stage = event.stage {
          steps.withLock { $0.append("\(event.vm) \(stage.rawValue)") }
          if event.vm == "a", stage == .preCopy { journal.fenced.withLock { $0 = true } }
        }
      })
    let summary = await engine.execute(
      Fixture.plan(
        [Fixture.move("a", from: "h0", to: "h1"), Fixture.move("b", from: "h0", to: "h2")], cluster: cluster))

    #expect(engine.fencedOut?.epoch == 7)
    let first = try #require(summary.results.first)
    #expect(first.outcome == .needsAttention)
    #expect(first.reason?.contains("another process took the migration lease of cluster test over") == true)
    #expect(first.reason?.contains("without touching VM a again") == true)
    #expect(summary.results.last?.outcome == .skipped)
    // No stage of `a` after pre-copy, no stage of `b`.
    #expect(steps.withLock { $0 } == ["a preMigration", "a reservation", "a preCopy"])
    // The reservation on h1 is left for the new holder's reconcile; `a` still runs on h0.
    let state = await driver.snapshot()
    #expect(state.instances(of: "a").map(\.host).sorted() == ["h0", "h1"])
    #expect(state.instances(of: "a").first { $0.host == "h0" }?.state == .running)
    #expect(state.instances(of: "b").map(\.host) == ["h0"])
    #expect(await journal.refused > 0)
    // The journal still says the move is in flight at pre-copy: what the reconcile reads.
    let unfinished = try #require(await journal.inner.unfinishedMoves(cluster: nil).first)
    #expect(unfinished.lastStage == .preCopy)
  }
}
