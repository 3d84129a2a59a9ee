import BallastEngine
import BallastHistory
import BallastModel
import BallastTestSupport
import Foundation
import Testing

/// A `ballast migrate` process killed for real (SIGKILL) in each stage of a live and of a cold
/// migration, then `ballast reconcile`: the VM is on exactly one host, running as before, and the
/// history of the move is complete (ended, every stage attempt closed).
@Suite("kill -9 during a migration, then reconcile (end to end)")
struct KillProcessTests {
  struct Kill: Sendable, CustomTestStringConvertible {
    var kind: MigrationKind
    var stage: MigrationStage
    var testDescription: String { "\(kind.rawValue), in \(stage.rawValue)" }

    /// `web` moves live; `batch`, whose disk is local, moves cold (shut down, copied, started).
    var vm: String { kind == .live ? "web" : "batch" }
  }

  static let kills: [Kill] = MigrationKind.allCases.flatMap { kind in
    MigrationStage.stages(for: kind).map { Kill(kind: kind, stage: $0) }
  }

  @Test(.timeLimit(.minutes(2)), arguments: kills)
  func killedInAStageThenReconciled(_ kill: Kill) async throws {
    let workspace = try ProcessWorkspace()
    defer { workspace.remove() }
    let store = try workspace.store()
    let migrate = try workspace.start(
      ["migrate", kill.vm, "--to", "h2", "--\(kill.kind.rawValue)", "--pace", "2", "--json"] + ProcessWorkspace.files)

    // Kill once the stage's intent is written (its work under way, its outcome not written yet).
    let caught = await StageWatcher.signal(
      SIGKILL, to: migrate.process.processIdentifier, when: kill.stage.rawValue, in: workspace.databasePath,
      within: 60)
    if !caught { migrate.signal(SIGKILL) }
    _ = await migrate.waitForExit(upTo: 10)
    try #require(caught, "never saw stage \(kill.stage.rawValue) under way: \(migrate.stdout) \(migrate.stderr)")
    #expect(migrate.process.terminationReason == .uncaughtSignal)
    let killed = try #require(try await ProcessWorkspace.inFlight(store), "the killed move is not in flight")
    #expect(killed.stages.last(where: { $0.intentAt != nil })?.stage == kill.stage, "killed past the stage")

    let reconcile = try await workspace.run(["reconcile", "--json"] + ProcessWorkspace.files)
    #expect(reconcile.status == 0, "\(reconcile.stdout) \(reconcile.stderr)")
    let lines = try ProcessWorkspace.jsonLines(reconcile.stdout)
    // Once commitment's intent is journaled the move is finished forward; before, it is undone.
    let expected: MoveOutcome = kill.stage.number >= MigrationStage.commitment.number ? .completed : .rolledBack
    #expect(lines.first?["resolution"] as? String == expected.rawValue, "\(reconcile.stdout)")
    #expect(lines.last?["event"] as? String == "summary")

    // The VM is on exactly one host, running as it was.
    let state = try workspace.state()
    #expect(state.violations().isEmpty, "\(state.violations())")
    let instances = state.instances(of: kill.vm)
    #expect(instances.count == 1, "\(instances)")
    #expect(instances.first?.host == (expected == .completed ? "h2" : "h1"))
    #expect(instances.first?.state == .running && instances.first?.owner == true)
    #expect(state.reservations.isEmpty)

    // The history is complete: the move ended so, every stage attempt is closed, the lease is free.
    let detail = try #require(try await store.migration(id: killed.migration.id))
    #expect(detail.migration.outcome == expected)
    #expect(detail.migration.endedAt != nil)
    #expect(detail.stages.allSatisfy { $0.outcome != nil && $0.endedAt != nil }, "\(detail.stages)")
    #expect(detail.stages.contains { $0.stage == kill.stage && $0.intentAt != nil && $0.outcome != nil })
    #expect(try await store.unfinishedMoves(cluster: "slow").isEmpty)
    #expect(try await store.currentLease(cluster: "slow") == nil)
  }

  @Test func reconcileSaysWhatItCannotExplainAndExitsNonZero() async throws {
    let workspace = try ProcessWorkspace()
    defer { workspace.remove() }
    let store = try workspace.store()
    let nothing = try await workspace.run(["reconcile"] + ProcessWorkspace.files)
    #expect(nothing.status == 0 && nothing.stdout.contains("Nothing to reconcile"), "\(nothing.stderr)")

    // A dead process's journal: web was moving h1 → h2 (it is on h1), spare h1 → h2 (it is on h3).
    let predicted = PredictedCost(seconds: 5, downtimeMs: 100, bytes: 1e8, rounds: 1, converges: true)
    let moves = ["web", "spare"].map {
      PlannedMove(vm: $0, from: "h1", to: "h2", kind: .live, reason: "test", predicted: predicted)
    }
    let view = ClusterView(imbalance: 0.1, hosts: [])
    let plan = try await store.recordPlan(
      MigrationPlan(
        trigger: .manual, cluster: "slow", policy: "patient", moves: moves, rejected: [], before: view, after: view),
      dryRun: false, at: 1)
    for (i, move) in moves.enumerated() {
      let id = try await store.moveStarted(plan: plan, index: i, move: move, at: 2)
      try await store.stageIntent(move: id, stage: .preMigration, at: 3)
    }

    let result = try await workspace.run(["reconcile", "--json"] + ProcessWorkspace.files)
    #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
    let lines = try ProcessWorkspace.jsonLines(result.stdout)
    #expect(lines.compactMap { $0["resolution"] as? String } == ["rolledBack", "needsAttention"])
    #expect((lines[1]["detail"] as? String)?.contains("h3") == true)
    let summary = try #require(lines.last)
    #expect(summary["rolledBack"] as? Int == 1 && summary["needsAttention"] as? Int == 1)
    #expect(summary["unresolved"] as? Int == 0)
    #expect(try await store.unfinishedMoves(cluster: "slow").isEmpty)
  }
}
