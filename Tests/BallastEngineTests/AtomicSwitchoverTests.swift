import BallastEngine
import BallastModel
import BallastTestSupport
import Testing

/// A driver whose transfer does stages 2–4 in one call (``SwitchoverStyle/atomic``, as libvirt's
/// migration call): the simulated driver in its atomic mode.
@Suite struct AtomicSwitchoverTests {
  static func setup() -> (Cluster, PlannedMove) {
    (Fixture.cluster(hostCount: 2, vms: [Fixture.vm("vm", on: "h0")]), Fixture.move("vm", from: "h0", to: "h1"))
  }

  @Test func theStagesAreReportedAsForAStagedDriverAndCommitIsNeverCalled() async throws {
    let (cluster, move) = Self.setup()
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(), switchover: .atomic)
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    // The atomic simulated driver throws from commit(_:): a completed move proves it was not called.
    #expect(summary.done == 1, "\(summary.results.first?.reason ?? "")")
    let ends = harness.recorder.stageEnds(of: "vm")
    #expect(ends.map(\.0) == MigrationStage.stages(for: .live))
    #expect(ends.allSatisfy { $0.1 == .succeeded })
    let events = harness.recorder.events(of: "vm")
    let started = events.filter { $0.type == .stageStarted }.compactMap(\.stage)
    #expect(started == MigrationStage.stages(for: .live))
    let stopAndCopy = try #require(events.first { $0.type == .stageEnded && $0.stage == .stopAndCopy })
    let downtime = try #require(stopAndCopy.figures.downtimeMs)
    #expect(downtime > 0 && downtime <= 300)
    #expect(summary.results.first?.measured?.downtimeMs == downtime)
    #expect(events.contains { $0.type == .progress })
    #expect(harness.engine.heldCapacity.isEmpty)
    #expect(await harness.placements()["vm"] == "h1")
    #expect(await harness.driver.snapshot().reservations.isEmpty)
  }

  @Test func theIntentsOfPreCopyStopAndCopyAndCommitmentAreJournaledBeforeTheCall() async throws {
    let (cluster, move) = Self.setup()
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(), switchover: .atomic)
    _ = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    let entries = await harness.journal.entries
    guard case .plan(let plan, dryRun: false) = entries.first, case .moveStarted(let id, vm: "vm") = entries[1] else {
      Issue.record("journal starts with \(entries.prefix(2))")
      return
    }
    let expected: [InMemoryJournal.Entry] = [
      .plan(plan, dryRun: false), .moveStarted(id, vm: "vm"),
      .intent(id, .preMigration), .outcome(id, .preMigration, .succeeded),
      .intent(id, .reservation), .outcome(id, .reservation, .succeeded),
      .intent(id, .preCopy), .intent(id, .stopAndCopy), .intent(id, .commitment),
      .outcome(id, .preCopy, .succeeded), .outcome(id, .stopAndCopy, .succeeded), .outcome(id, .commitment, .succeeded),
      .intent(id, .activation), .outcome(id, .activation, .succeeded),
      .moveFinished(id, .completed), .planFinished(plan),
    ]
    #expect(entries == expected)
  }

  /// A stage that fails once: before the switchover returns the VM stays untouched on its source
  /// and the reservation is released; activation is retried. The engine sees stop-and-copy and the
  /// backend's confirmation as one call, so a failed confirmation is reported in stop-and-copy.
  @Test(arguments: MigrationStage.stages(for: .live))
  func aFailureAtAnyStageLeavesTheVMOnExactlyOneHost(_ stage: MigrationStage) async throws {
    let (cluster, move) = Self.setup()
    let original = try #require(cluster.vm(named: "vm"))
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), faults: [.failStage(vm: "vm", stage: stage)], switchover: .atomic)
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    let result = try #require(summary.results.first)
    let only = try await harness.onlyCopy(of: original)
    if stage == .activation {
      #expect(result.outcome == .completed)
      #expect(only.host == "h1")
    } else {
      let reported: MigrationStage = stage == .commitment ? .stopAndCopy : stage
      #expect(result.outcome == .rolledBack)
      #expect(result.failedStage == reported)
      #expect(only.host == "h0")
      #expect(harness.recorder.stageEnds(of: "vm").contains { $0.0 == reported && $0.1 == .failed })
      // Nothing past the failure was reported as begun.
      #expect(!harness.recorder.events(of: "vm").contains { $0.type == .stageStarted && $0.stage == .commitment })
    }
    #expect(await harness.journal.unfinishedMoves().isEmpty)
  }

  @Test func aCorruptCopyIsNeverCommitted() async throws {
    let (cluster, move) = Self.setup()
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), faults: [.checksumMismatch(vm: "vm")], switchover: .atomic)
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    #expect(summary.results.first?.outcome == .rolledBack)
    #expect(summary.results.first?.reason?.contains("checksum") == true)
    #expect(await harness.placements()["vm"] == "h0")
    #expect(await harness.driver.snapshot().reservations.isEmpty)
  }

  @Test func aDestinationThatNeverResumesNeedsAttentionAndKeepsOneOwner() async throws {
    let (cluster, move) = Self.setup()
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), faults: [.failStage(vm: "vm", stage: .activation, times: 100)],
      switchover: .atomic)
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    #expect(summary.results.first?.outcome == .needsAttention)
    let state = await harness.driver.snapshot()
    #expect(state.violations() == [])
    #expect(state.instances(of: "vm").map(\.host) == ["h1"])
    #expect(state.instances(of: "vm").first?.state == .paused)
  }

  /// Cancelled (onCancel: abort) as pre-copy begins, at its first round, or as the pause
  /// begins: the call is aborted, the VM runs on its source, no stage is reported failed.
  @Test(arguments: [EngineEvent.EventType.stageStarted, .progress])
  func aCancelledSwitchoverRollsBack(_ at: EngineEvent.EventType) async throws {
    let (cluster, move) = Self.setup()
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(onCancel: .abort), switchover: .atomic
    ) { event, engine in
      if event.type == at, at == .progress || event.stage == .preCopy { engine.cancel() }
    }
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    let result = try #require(summary.results.first)
    #expect(result.outcome == .rolledBack)
    #expect(result.failedStage == nil)
    #expect(result.reason?.contains("cancelled") == true)
    #expect(!harness.recorder.stageEnds(of: "vm").contains { $0.1 == .failed })
    await CancellationTests.expectConsistent(harness)
    #expect(await harness.placements()["vm"] == "h0")
  }

  @Test func aCancellationAsThePauseBeginsRollsBack() async throws {
    let (cluster, move) = Self.setup()
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(onCancel: .abort), switchover: .atomic
    ) { event, engine in
      if event.type == .stageStarted, event.stage == .stopAndCopy { engine.cancel() }
    }
    let summary = await harness.engine.execute(Fixture.plan([move], cluster: cluster))
    let result = try #require(summary.results.first)
    #expect(result.outcome == .rolledBack)
    #expect(result.failedStage == nil)
    #expect(harness.recorder.stageEnds(of: "vm").contains { $0.0 == .stopAndCopy && $0.1 == .aborted })
    await CancellationTests.expectConsistent(harness)
    #expect(await harness.placements()["vm"] == "h0")
  }
}

/// The driver's own stage-0 checks (``Driver/additionalChecks(_:vm:destination:)``).
@Suite struct DriverChecksTests {
  @Test func aMoveTheDriverRefusesIsSkippedAsNotPossibleAndHoldsNothing() async throws {
    let cluster = Fixture.cluster(hostCount: 3, vms: [Fixture.vm("vm", on: "h0")])
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(),
      faults: [
        .refuseMove(vm: "vm", host: "h1", check: .driver("cpu-compare"), reason: "libvirt says the CPU is incompatible")
      ])
    let refused = Fixture.move("vm", from: "h0", to: "h1")
    let dryRun = await harness.engine.check(refused)
    guard case .failure(let notPossible) = dryRun else {
      Issue.record("the dry run accepted a move the driver refuses")
      return
    }
    #expect(notPossible.check == .driver("cpu-compare"))
    #expect(notPossible.reason.contains("incompatible"))
    if case .failure = await harness.engine.check(Fixture.move("vm", from: "h0", to: "h2")) {
      Issue.record("the driver's refusal of h1 also refused h2")
    }

    let summary = await harness.engine.execute(Fixture.plan([refused], cluster: cluster))
    let result = try #require(summary.results.first)
    #expect(result.outcome == .skipped)
    #expect(result.failedStage == nil)
    #expect(result.reason?.contains("cpu-compare") == true)
    #expect(harness.recorder.stageEnds(of: "vm").map(\.0) == [.preMigration])
    #expect(harness.engine.heldCapacity.isEmpty)
    #expect(await harness.placements()["vm"] == "h0")
  }
}
