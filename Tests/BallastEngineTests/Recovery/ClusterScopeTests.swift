import BallastEngine
import BallastModel
import Logging
import Testing

/// One journal, two clusters: recovery of one never touches the other's moves.
@Suite("Reconcile is scoped by cluster")
struct ClusterScopeTests {
  /// A started live move of `vm` h1 → h2 in a plan for `cluster`, killed during pre-copy.
  private func interrupted(_ journal: InMemoryJournal, vm: String, cluster: String) async -> MoveID {
    let move = PlannedMove(
      vm: vm, from: "h1", to: "h2", kind: .live, reason: "h1 is hot",
      predicted: PredictedCost(seconds: 10, downtimeMs: 50, bytes: 1e9, rounds: 3, converges: true))
    let view = ClusterView(imbalance: 0.2, hosts: [])
    let plan = MigrationPlan(
      trigger: .balance, cluster: cluster, policy: "balanced", moves: [move], rejected: [], before: view, after: view)
    let planID = await journal.recordPlan(plan, dryRun: false, at: 0)
    let id = await journal.moveStarted(plan: planID, index: 0, move: move, at: 1)
    await journal.stageIntent(move: id, stage: .preMigration, at: 2)
    await journal.stageOutcome(
      move: id, stage: .preMigration, outcome: .succeeded, at: 2, figures: StageFigures(), error: nil)
    await journal.stageIntent(move: id, stage: .reservation, at: 3)
    await journal.stageOutcome(
      move: id, stage: .reservation, outcome: .succeeded, at: 3, figures: StageFigures(), error: nil)
    await journal.stageIntent(move: id, stage: .preCopy, at: 4)
    return id
  }

  @Test func unfinishedMovesOfOneClusterAndReconcileOfOnlyThose() async throws {
    let journal = InMemoryJournal()
    let a = await interrupted(journal, vm: "web1", cluster: "a")
    let b = await interrupted(journal, vm: "db1", cluster: "b")
    #expect(await journal.unfinishedMoves(cluster: "a").map(\.id) == [a])
    #expect(await journal.unfinishedMoves(cluster: "b").map(\.id) == [b])
    #expect(await journal.unfinishedMoves().map(\.id) == [a, b])

    let driver = ReconcileFakeDriver(["web1": ["h1": .running, "h2": .incoming]], journal: journal)
    let reconciler = Reconciler(
      journal: journal, driver: driver, cluster: "a", now: { 10 },
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    let results = try await reconciler.run()
    #expect(results.map(\.move) == [a])
    #expect(results.first?.resolution == .finished(.rolledBack))
    let calls = await driver.callNames
    #expect(!calls.isEmpty && calls.allSatisfy { $0.contains("web1") }, "\(calls)")
    #expect(await journal.unfinishedMoves(cluster: "b").map(\.id) == [b])
    #expect(await journal.unfinishedMoves(cluster: "a").isEmpty)
  }
}
