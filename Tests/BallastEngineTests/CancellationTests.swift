import BallastEngine
import BallastModel
import BallastTestSupport
import Synchronization
import Testing

@Suite struct CancellationTests {
  /// Twelve VMs of different sizes leave h0 (two at a time), so moves end one by one.
  static func twelveFromOneHost() -> (Cluster, MigrationPlan) {
    let vms = (0..<12).map { Fixture.vm("vm\($0)", on: "h0", memory: .gib(4 + 3 * Double($0))) }
    let moves = (0..<12).map { Fixture.move("vm\($0)", from: "h0", to: "h\(1 + $0 % 6)") }
    let cluster = Fixture.cluster(hostCount: 7, vms: vms)
    return (cluster, Fixture.plan(moves, cluster: cluster))
  }

  static func expectConsistent(_ harness: Harness) async {
    let state = await harness.driver.snapshot()
    #expect(state.violations() == [])
    #expect(state.reservations.isEmpty)
    #expect(harness.engine.heldCapacity.isEmpty)
    for vm in state.cluster.vms {
      #expect(state.instances(of: vm.name).count == 1, "VM \(vm.name): \(state.instances(of: vm.name))")
    }
    #expect(await harness.journal.unfinishedMoves().isEmpty)
  }

  @Test func cancellingLetsMovesInFlightFinishAndStartsNoMore() async throws {
    let (cluster, plan) = Self.twelveFromOneHost()
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(onCancel: .finish)) { event, engine in
      if event.type == .moveEnded { engine.cancel() }
    }
    let summary = await harness.engine.execute(plan)
    #expect(summary.cancelled)
    #expect(summary.results.map(\.outcome) == [.completed, .completed] + Array(repeating: .skipped, count: 10))
    #expect(summary.results.dropFirst(2).allSatisfy { $0.reason?.contains("cancelled") == true })
    await Self.expectConsistent(harness)
    #expect(await harness.placements().values.filter { $0 == "h0" }.count == 10)
  }

  @Test func cancellingWithAbortRollsTheMoveInFlightBack() async throws {
    let (cluster, plan) = Self.twelveFromOneHost()
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(onCancel: .abort)) { event, engine in
      if event.type == .moveEnded { engine.cancel() }
    }
    let summary = await harness.engine.execute(plan)
    // vm0 ended first; vm1 was mid pre-copy and goes back; nothing else started.
    #expect(summary.results.map(\.outcome) == [.completed, .rolledBack] + Array(repeating: .skipped, count: 10))
    #expect(summary.results[1].reason?.contains("cancelled") == true)
    let ends = harness.recorder.stageEnds(of: "vm1")
    #expect(ends.contains { $0.0 == .preCopy && $0.1 == .aborted })
    #expect(ends.last.map { $0.0 == .reservation && $0.1 == .rolledBack } == true)
    await Self.expectConsistent(harness)
    #expect(await harness.placements()["vm1"] == "h0")
  }

  @Test func anAbortRequestedAsPreCopyBeginsStopsItThere() async throws {
    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("vm", on: "h0")])
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(onCancel: .abort)) { event, engine in
      if event.type == .stageStarted, event.stage == .preCopy { engine.cancel() }
    }
    let summary = await harness.engine.execute(
      Fixture.plan([Fixture.move("vm", from: "h0", to: "h1")], cluster: cluster))
    #expect(summary.failed == 1)
    #expect(harness.recorder.stageEnds(of: "vm").map(\.0) == [.preMigration, .reservation, .preCopy, .reservation])
    #expect(harness.recorder.stageEnds(of: "vm")[2].1 == .aborted)
    #expect(!harness.recorder.events.contains { $0.type == .progress })  // not even one round
    await Self.expectConsistent(harness)
  }

  @Test func cancellingTheTaskStopsTheRunLikeCancel() async throws {
    let (cluster, plan) = Self.twelveFromOneHost()
    let task = Mutex<Task<ExecutionSummary, Never>?>(nil)
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(onCancel: .finish)) { event, _ in
      if event.type == .moveEnded { task.withLock { $0 }?.cancel() }
    }
    let engine = harness.engine
    let running = Task { await engine.execute(plan) }
    task.withLock { $0 = running }
    let summary = await running.value
    #expect(summary.cancelled)
    #expect(summary.done >= 1 && summary.done <= 2)
    #expect(summary.done + summary.skipped == 12)
    await Self.expectConsistent(harness)
  }

  @Test(arguments: [CancelAction.finish, .abort])
  func cancellingDuringAColdMoveLeavesOneCopy(action: CancelAction) async throws {
    let vms = [
      Fixture.vm("first", on: "h0", state: .stopped, disks: [Disk(datastore: "h0-local", size: .gib(10))]),
      Fixture.vm("second", on: "h0", disks: [Disk(datastore: "h0-local", size: .gib(100))]),
    ]
    let cluster = Fixture.cluster(
      hosts: [Fixture.host("h0", datastores: ["h0-local"]), Fixture.host("h1", datastores: ["h1-local"])], vms: vms)
    let plan = Fixture.plan(
      [
        Fixture.move("first", from: "h0", to: "h1", kind: .cold),
        Fixture.move("second", from: "h0", to: "h1", kind: .cold, requiresShutdown: true),
      ], cluster: cluster)
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(onCancel: action)) { event, engine in
      if event.type == .moveEnded { engine.cancel() }
    }
    let summary = await harness.engine.execute(plan)
    #expect(summary.results[0].outcome == .completed)
    #expect(summary.results[1].outcome == (action == .finish ? .completed : .rolledBack))
    await Self.expectConsistent(harness)
    let second = await harness.driver.snapshot().cluster.vm(named: "second")
    #expect(second?.state == .running)  // restarted on its source, or started on the destination
    #expect(second?.host == (action == .finish ? "h1" : "h0"))
  }
}

/// A cancellation is not a failure: whatever stage it reaches a move in, the move reports no
/// failed stage, no stage ends `failed`, and the VM is back on its source.
@Suite struct CancellationIsNotAFailureTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var kind: MigrationKind
    /// The cancellation comes as this stage begins.
    var stage: MigrationStage
    var testDescription: String { "\(kind.rawValue), cancelled as \(stage.rawValue) begins" }
  }

  static let cases: [Case] =
    [MigrationStage.reservation, .preCopy, .stopAndCopy].map { Case(kind: .live, stage: $0) }
    + [MigrationStage.reservation, .copy, .register].map { Case(kind: .cold, stage: $0) }

  @Test(arguments: cases)
  func aCancelledMoveReportsNoFailedStage(_ test: Case) async throws {
    let vm = Fixture.vm("vm", on: "h0", disks: [Disk(datastore: "h0-local", size: .gib(10))])
    let hosts = [
      Fixture.host("h0", datastores: ["h0-local", "san"]), Fixture.host("h1", datastores: ["h1-local", "san"]),
    ]
    let cluster = Fixture.cluster(hosts: hosts, vms: [test.kind == .live ? Fixture.vm("vm", on: "h0") : vm])
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(onCancel: .abort)) { event, engine in
      if event.type == .stageStarted, event.stage == test.stage { engine.cancel() }
    }
    let move = Fixture.move("vm", from: "h0", to: "h1", kind: test.kind, requiresShutdown: test.kind == .cold)
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    let result = try #require(summary.results.first)
    #expect(result.outcome == .rolledBack)
    #expect(result.failedStage == nil)
    #expect(result.reason?.contains("cancelled") == true, "\(result.reason ?? "")")
    let ends = harness.recorder.stageEnds(of: "vm")
    #expect(!ends.contains { $0.1 == .failed }, "\(ends)")
    #expect(ends.last.map { $0.0 == .reservation && $0.1 == .rolledBack } == true, "\(ends)")
    await CancellationTests.expectConsistent(harness)
    let state = await harness.driver.snapshot()
    #expect(state.instances(of: "vm").map(\.host) == ["h0"])
    #expect(state.instances(of: "vm").first?.state == .running)
  }
}
