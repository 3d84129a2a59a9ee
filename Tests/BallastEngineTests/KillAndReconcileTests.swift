import BallastEngine
import BallastModel
import Foundation
import Logging
import Synchronization
import Testing

/// A journal that stops writing at a chosen moment, as a killed process does.
actor FreezableJournal: MigrationJournal {
  let inner = InMemoryJournal()
  private var frozen = false

  nonisolated let freezeNow = Mutex(false)

  private func alive() -> Bool {
    if freezeNow.withLock({ $0 }) { frozen = true }
    return !frozen
  }

  func recordPlan(_ plan: MigrationPlan, dryRun: Bool, at: Double) async throws -> PlanID {
    await inner.recordPlan(plan, dryRun: dryRun, at: at)
  }
  func moveStarted(plan: PlanID, index: Int, move: PlannedMove, at: Double) async throws -> MoveID {
    await inner.moveStarted(plan: plan, index: index, move: move, at: at)
  }
  func stageIntent(move: MoveID, stage: MigrationStage, at: Double) async throws {
    if alive() { await inner.stageIntent(move: move, stage: stage, at: at) }
  }
  func stageOutcome(
    move: MoveID, stage: MigrationStage, outcome: StageOutcome, at: Double, figures: StageFigures, error: String?
  ) async throws {
    if alive() {
      await inner.stageOutcome(move: move, stage: stage, outcome: outcome, at: at, figures: figures, error: error)
    }
  }
  func moveFinished(
    move: MoveID, outcome: MoveOutcome, measured: MeasuredCost?, at: Double, detail: String?
  )
    async throws
  {
    if alive() { await inner.moveFinished(move: move, outcome: outcome, measured: measured, at: at, detail: detail) }
  }
  func planFinished(plan: PlanID, measuredImbalanceAfter: Double?, at: Double) async throws {
    if alive() { await inner.planFinished(plan: plan, measuredImbalanceAfter: measuredImbalanceAfter, at: at) }
  }
  func unfinishedMoves(cluster: String?) async throws -> [UnfinishedMove] {
    await inner.unfinishedMoves(cluster: cluster)
  }

  /// A new process opens the same journal: writes go through again.
  func thaw() {
    freezeNow.withLock { $0 = false }
    frozen = false
  }
}

/// A process killed at every stage boundary of both kinds (its state file and its journal as
/// they were at that instant), then a new process reconciles: the VM ends on exactly one host,
/// running as before, and the journal has nothing left unfinished.
@Suite struct KillAndReconcileTests {
  struct Kill: Sendable, CustomTestStringConvertible {
    var kind: MigrationKind
    var stage: MigrationStage
    var type: EngineEvent.EventType
    var testDescription: String { "\(kind.rawValue) \(type == .stageStarted ? "before" : "after") \(stage.rawValue)" }
  }

  static let kills: [Kill] = MigrationKind.allCases.flatMap { kind in
    MigrationStage.stages(for: kind).flatMap { stage in
      [Kill(kind: kind, stage: stage, type: .stageStarted), Kill(kind: kind, stage: stage, type: .stageEnded)]
    }
  }

  @Test(arguments: kills)
  func reconcileAfterAKillLeavesTheVMOnExactlyOneHost(_ kill: Kill) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-kill-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let live = directory.appendingPathComponent("state.json").path
    let killed = directory.appendingPathComponent("killed.json").path

    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("vm", on: "h0")])
    let journal = FreezableJournal()
    let driver = try SimulatedDriver(cluster: cluster, store: FileStateStore(path: live))
    let engine = MigrationEngine(
      simulated: driver, journal: journal, policy: Fixture.policy(),
      observer: { event in
        guard event.type == kill.type, event.stage == kill.stage, !journal.freezeNow.withLock({ $0 }) else { return }
        try? FileManager.default.copyItem(atPath: live, toPath: killed)
        journal.freezeNow.withLock { $0 = true }
      })
    let move = Fixture.move("vm", from: "h0", to: "h1", kind: kill.kind, requiresShutdown: kill.kind == .cold)
    _ = await engine.execute(Fixture.plan([move], cluster: cluster))
    #expect(journal.freezeNow.withLock { $0 })
    #expect(try await journal.unfinishedMoves(cluster: nil).count == 1)  // the dead process did not finish it

    await journal.thaw()
    let revived = try SimulatedDriver(resumingFrom: FileStateStore(path: killed))
    let reconciler = Reconciler(
      journal: journal, driver: revived, cluster: cluster.name, now: { revived.clock.now() },
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    let results = try await reconciler.run()
    let result = try #require(results.first)
    // Once commitment's intent is journaled the move is finished forward; before, it is undone.
    let expected: MoveOutcome = kill.stage.number >= 4 ? .completed : .rolledBack
    #expect(result.resolution == .finished(expected), "\(result.detail)")
    #expect(try await journal.unfinishedMoves(cluster: nil).isEmpty)
    let state = await revived.snapshot()
    #expect(state.violations() == [])
    #expect(state.reservations.isEmpty)
    let placements = try await revived.locate(vm: "vm")
    #expect(placements.count == 1)
    #expect(placements.first?.state == .running)
    #expect(placements.first?.host == (expected == .completed ? "h1" : "h0"))
  }
}
