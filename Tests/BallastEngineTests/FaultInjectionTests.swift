import BallastEngine
import BallastModel
import BallastTestSupport
import Testing

@Suite struct FaultInjectionTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var kind: MigrationKind
    var stage: MigrationStage
    var testDescription: String { "\(kind.rawValue) \(stage.number) \(stage.rawValue)" }
  }

  static let everyStage: [Case] = MigrationKind.allCases.flatMap { kind in
    MigrationStage.stages(for: kind).map { Case(kind: kind, stage: $0) }
  }

  static func setup(_ kind: MigrationKind) -> (Cluster, PlannedMove) {
    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("vm", on: "h0")])
    let move = Fixture.move("vm", from: "h0", to: "h1", kind: kind, requiresShutdown: kind == .cold)
    return (cluster, move)
  }

  /// A stage that fails once: before commitment the VM stays untouched on its source; at the
  /// last stage the engine retries and completes. Never on two hosts, never on none.
  @Test(arguments: everyStage)
  func aFailureAtAnyStageLeavesTheVMOnExactlyOneHost(_ test: Case) async throws {
    let (cluster, move) = Self.setup(test.kind)
    let original = try #require(cluster.vm(named: "vm"))
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), faults: [.failStage(vm: "vm", stage: test.stage)])
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    let result = try #require(summary.results.first)
    let only = try await harness.onlyCopy(of: original)
    if test.stage.isPastCommitment && test.stage.number == 5 {
      #expect(result.outcome == .completed)
      #expect(only.host == "h1")
    } else {
      #expect(result.outcome == .rolledBack)
      #expect(result.failedStage == test.stage)
      #expect(only.host == "h0")
      #expect(harness.recorder.stageEnds(of: "vm").contains { $0.0 == test.stage && $0.1 == .failed })
    }
    #expect(await harness.journal.unfinishedMoves().isEmpty)
  }

  @Test(arguments: MigrationKind.allCases)
  func aDestinationThatNeverComesUpNeedsAttentionAndKeepsOneOwner(kind: MigrationKind) async throws {
    let (cluster, move) = Self.setup(kind)
    let stage = MigrationStage.stages(for: kind)[5]
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), faults: [.failStage(vm: "vm", stage: stage, times: 100)])
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    let result = try #require(summary.results.first)
    #expect(result.outcome == .needsAttention)
    #expect(result.reason?.contains("h1") == true)
    let state = await harness.driver.snapshot()
    #expect(state.violations() == [])
    let owners = state.instances(of: "vm").filter(\.owner)
    #expect(owners.map(\.host) == ["h1"])
    #expect(!state.instances(of: "vm").contains { $0.state == .running })
    #expect(summary.needsAttention == 1)
  }

  @Test(arguments: MigrationKind.allCases)
  func aDestinationLosingPowerMidTransferRollsBack(kind: MigrationKind) async throws {
    let (cluster, move) = Self.setup(kind)
    // Live: round 0 of 8 GiB takes ~6.9 s; cold: 20 s shutdown, then ~0.1 s of copy. Kill during the transfer.
    let at = kind == .live ? 3.0 : 20.25
    var timings = SimulationTimings()
    timings.configurationBytes = ByteCount.gib(1).double
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), timings: timings, faults: [.killHost(host: "h1", at: at)])
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    let result = try #require(summary.results.first)
    #expect(result.outcome == .rolledBack)
    #expect(result.failedStage == (kind == .live ? .preCopy : .copy))
    let state = await harness.driver.snapshot()
    #expect(state.violations() == [])
    #expect(state.reservations.isEmpty)
    #expect(state.instances(of: "vm").map(\.host) == ["h0"])
    #expect(state.instances(of: "vm").first?.state == .running)
    await #expect(throws: DriverError.self) {
      _ = try await harness.driver.reserve(MigrationRequest(vm: "vm", from: "h0", to: "h1", kind: .live))
    }
  }

  @Test func aLinkWithNoBandwidthTimesOutAndRollsBack() async throws {
    let (cluster, move) = Self.setup(.live)
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), faults: [.bandwidth(host: "h0", to: .zero, at: 1)])
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    let result = try #require(summary.results.first)
    #expect(result.outcome == .rolledBack)
    #expect(result.reason?.contains("stalled") == true)
    #expect(await harness.placements()["vm"] == "h0")
    // It gave up after the stall timeout, not before and not never.
    #expect(abs(summary.makespanSeconds - (1 + SimulationTimings().stallTimeoutSeconds)) < 1)
  }

  @Test func aSlowerLinkStretchesTheTransferExactly() async throws {
    let vm = Fixture.vm("vm", on: "h0", dirtyRate: .zero, workingSet: .zero)
    let cluster = Fixture.cluster(hostCount: 2, vms: [vm])
    let full = Bandwidth.gbit(10).bytesPerSecond
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), timings: .transfersOnly,
      faults: [.bandwidth(host: "h1", to: Bandwidth(bytesPerSecond: full / 4), at: 2)])
    let summary = await harness.engine.execute(
      Fixture.plan([Fixture.move("vm", from: "h0", to: "h1")], cluster: cluster))
    // 2 s at full rate, the rest at a quarter.
    let expected = 2 + (vm.memory.double - 2 * full) / (full / 4)
    #expect(abs(summary.makespanSeconds - expected) < 1e-6)
    #expect(summary.done == 1)
  }
}

/// The engine retries only what can succeed on a second try: transient driver failures.
@Suite struct RetryTests {
  @Test(arguments: MigrationKind.allCases)
  func aTransientFailureAfterCommitmentIsRetried(kind: MigrationKind) async throws {
    let (cluster, move) = FaultInjectionTests.setup(kind)
    let stage = MigrationStage.stages(for: kind)[5]
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), faults: [.failStage(vm: "vm", stage: stage, times: 2)])
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    #expect(summary.results.first?.outcome == .completed)
    #expect(await harness.placements()["vm"] == "h1")
  }

  @Test(arguments: [DriverError.Kind.refused, .unreachable, .failed])
  func aFailureThatCannotPassIsNotRetried(errorKind: DriverError.Kind) async throws {
    let (cluster, move) = FaultInjectionTests.setup(.live)
    // It would succeed on a second try: a retry would complete the move.
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(),
      faults: [.failStage(vm: "vm", stage: .activation, times: 1, kind: errorKind)])
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    let result = try #require(summary.results.first)
    #expect(result.outcome == .needsAttention)
    #expect(result.failedStage == .activation)
    #expect(result.reason?.contains("attempts") == false, "\(result.reason ?? "")")
    let owners = await harness.driver.snapshot().instances(of: "vm").filter(\.owner)
    #expect(owners.map(\.host) == ["h1"])
  }

  @Test func aTransientFailureThatLastsIsReportedWithItsAttempts() async throws {
    let (cluster, move) = FaultInjectionTests.setup(.live)
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), faults: [.failStage(vm: "vm", stage: .activation, times: 100)])
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    let result = try #require(summary.results.first)
    #expect(result.outcome == .needsAttention)
    #expect(result.reason?.contains("\(EngineOptions().attempts) attempts") == true, "\(result.reason ?? "")")
  }
}
