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
  func recordObservation(
    _ observation: MigrationObservation, move: MoveID, learn: Bool, settings: LearningSettings
  ) async throws {
    if alive() { await inner.recordObservation(observation, move: move, learn: learn, settings: settings) }
  }
  func learnedEstimates(cluster: String) async throws -> LearnedEstimates {
    await inner.learnedEstimates(cluster: cluster)
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
/// running as before, and the journal has nothing left unfinished. Live moves are killed both
/// with a staged driver and with an atomic one (stages 2–4 in one call, as libvirt's).
@Suite struct KillAndReconcileTests {
  struct Kill: Sendable, CustomTestStringConvertible {
    var kind: MigrationKind
    var stage: MigrationStage
    var type: EngineEvent.EventType
    var switchover: SwitchoverStyle = .staged
    var testDescription: String {
      let when = type == .stageStarted ? "before" : type == .stageEnded ? "after" : "during a round of"
      return "\(kind.rawValue)\(switchover == .atomic ? " atomic" : "") \(when) \(stage.rawValue)"
    }

    /// Once commitment's intent is journaled the move is finished forward; before, it is undone.
    /// An atomic driver commits inside its transfer call: the move is finished forward once the
    /// call returned (stop-and-copy ended), and undone while the source is still there.
    var expected: MoveOutcome {
      switch switchover {
      case .staged: stage.number >= 4 ? .completed : .rolledBack
      case .atomic: stage.number >= 4 || (stage == .stopAndCopy && type == .stageEnded) ? .completed : .rolledBack
      }
    }
  }

  static let kills: [Kill] =
    MigrationKind.allCases.flatMap { kind in
      MigrationStage.stages(for: kind).flatMap { stage in
        [Kill(kind: kind, stage: stage, type: .stageStarted), Kill(kind: kind, stage: stage, type: .stageEnded)]
      }
    }
    + MigrationStage.stages(for: .live).flatMap { stage in
      [
        Kill(kind: .live, stage: stage, type: .stageStarted, switchover: .atomic),
        Kill(kind: .live, stage: stage, type: .stageEnded, switchover: .atomic),
      ]
    } + [Kill(kind: .live, stage: .preCopy, type: .progress, switchover: .atomic)]

  @Test(arguments: kills)
  func reconcileAfterAKillLeavesTheVMOnExactlyOneHost(_ kill: Kill) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-kill-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let live = directory.appendingPathComponent("state.json").path
    let killed = directory.appendingPathComponent("killed.json").path

    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("vm", on: "h0")])
    let journal = FreezableJournal()
    let driver = try SimulatedDriver(cluster: cluster, store: FileStateStore(path: live), switchover: kill.switchover)
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

    let result = try await Self.reconcile(journal, killed, cluster: cluster, switchover: kill.switchover)
    #expect(result.resolution == .finished(kill.expected), "\(result.detail)")
  }

  /// A process killed inside an atomic driver's transfer call, at each state the call saves on its
  /// way: source running; source paused; destination complete with the source still there (the
  /// backend's job not finished); source gone, destination paused. The journal is at "commitment
  /// begun" in all of them; only the first three are rolled back.
  @Test(arguments: 1...4)
  func reconcileAfterAKillInsideAnAtomicSwitchover(save: Int) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-kill-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let killed = directory.appendingPathComponent("killed.json").path

    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("vm", on: "h0")])
    let journal = FreezableJournal()
    let store = KillSwitchStore(
      path: directory.appendingPathComponent("state.json").path, killedCopy: killed, afterSaves: save,
      journal: journal)
    let driver = try SimulatedDriver(cluster: cluster, store: store, switchover: .atomic)
    let engine = MigrationEngine(
      simulated: driver, journal: journal, policy: Fixture.policy(),
      observer: { event in
        if event.type == .stageStarted, event.stage == .preCopy { store.arm() }
      })
    _ = await engine.execute(Fixture.plan([Fixture.move("vm", from: "h0", to: "h1")], cluster: cluster))
    #expect(journal.freezeNow.withLock { $0 })
    let unfinished = try #require(try await journal.unfinishedMoves(cluster: nil).first)
    #expect(unfinished.lastStage == .commitment && !unfinished.lastStageSucceeded)

    let left = try #require(try FileStateStore(path: killed).load())
    let found = left.instances(of: "vm").map { "\($0.state.rawValue) on \($0.host)" }.sorted()
    let expectedFound: [[String]] = [
      ["incoming on h1", "running on h0"], ["incoming on h1", "paused on h0"], ["paused on h0", "paused on h1"],
      ["paused on h1"],
    ]
    #expect(found == expectedFound[save - 1])

    let result = try await Self.reconcile(journal, killed, cluster: cluster, switchover: .atomic)
    #expect(result.resolution == .finished(save == 4 ? .completed : .rolledBack), "\(result.detail)")
  }

  /// A new process opens the journal and the state the dead one left, and reconciles; checks that
  /// the VM then runs on exactly one host, as the result says, with nothing reserved.
  static func reconcile(
    _ journal: FreezableJournal, _ killed: String, cluster: Cluster, switchover: SwitchoverStyle
  ) async throws -> ReconcileResult {
    await journal.thaw()
    let revived = try SimulatedDriver(resumingFrom: FileStateStore(path: killed), switchover: switchover)
    let reconciler = Reconciler(
      journal: journal, driver: revived, cluster: cluster.name, now: { revived.clock.now() },
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    let results = try await reconciler.run()
    let result = try #require(results.first)
    #expect(try await journal.unfinishedMoves(cluster: nil).isEmpty)
    let state = await revived.snapshot()
    #expect(state.violations() == [])
    #expect(state.reservations.isEmpty)
    let placements = try await revived.locate(vm: "vm")
    #expect(placements.count == 1)
    #expect(placements.first?.state == .running)
    if case .finished(let outcome) = result.resolution {
      #expect(placements.first?.host == (outcome == .completed ? "h1" : "h0"))
    }
    return result
  }
}

/// A state file that, once armed, is copied aside at its `afterSaves`-th save and freezes the
/// journal at that instant: a process killed right after that save.
final class KillSwitchStore: SimulatedStateStore {
  let inner: FileStateStore
  let killedCopy: String
  let afterSaves: Int
  let journal: FreezableJournal
  /// Saves since armed (`nil`: not armed).
  private let saves = Mutex<Int?>(nil)

  init(path: String, killedCopy: String, afterSaves: Int, journal: FreezableJournal) {
    self.inner = FileStateStore(path: path)
    self.killedCopy = killedCopy
    self.afterSaves = afterSaves
    self.journal = journal
  }

  func arm() { saves.withLock { $0 = $0 ?? 0 } }

  func load() throws -> SimulatedState? { try inner.load() }

  func save(_ state: SimulatedState) throws {
    try inner.save(state)
    let count: Int? = saves.withLock { count in
      count = count.map { $0 + 1 }
      return count
    }
    guard count == afterSaves, !journal.freezeNow.withLock({ $0 }) else { return }
    try FileManager.default.copyItem(atPath: inner.path, toPath: killedCopy)
    journal.freezeNow.withLock { $0 = true }
  }
}
