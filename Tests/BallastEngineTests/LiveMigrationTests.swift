import BallastEngine
import BallastModel
import BallastTestSupport
import Testing

@Suite struct LiveMigrationTests {
  @Test func stagesRunInOrderAndEachReportsItsFigures() async throws {
    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("web", on: "h0")])
    let harness = try Harness(cluster: cluster, policy: Fixture.policy())
    let summary = await harness.engine.execute(
      Fixture.plan([Fixture.move("web", from: "h0", to: "h1")], cluster: cluster))

    #expect(summary.done == 1)
    let ends = harness.recorder.stageEnds(of: "web")
    #expect(ends.map(\.0) == MigrationStage.stages(for: .live))
    #expect(ends.allSatisfy { $0.1 == .succeeded })

    let events = harness.recorder.events(of: "web")
    #expect(events.first?.type == .moveStarted)
    #expect(events.last?.type == .moveEnded)
    #expect(events.last?.moveOutcome == .completed)
    // Every stage starts, then ends, before the next starts; progress only during pre-copy.
    var open: MigrationStage?
    for event in events {
      switch event.type {
      case .stageStarted:
        #expect(open == nil)
        open = event.stage
      case .stageEnded:
        #expect(open == event.stage)
        open = nil
      case .progress:
        #expect(open == .preCopy)
      default:
        break
      }
    }
    let times = events.map(\.at)
    #expect(times == times.sorted())
    let rounds = events.filter { $0.type == .progress }
    #expect(rounds.count >= 1)
    #expect(rounds.first?.figures.bytesSent == ByteCount.gib(8).double)
    let stopAndCopy = try #require(events.first { $0.type == .stageEnded && $0.stage == .stopAndCopy })
    let downtime = try #require(stopAndCopy.figures.downtimeMs)
    #expect(downtime > 0 && downtime <= 300)
    #expect(summary.maxDowntimeMs == downtime)
    #expect(await harness.placements()["web"] == "h1")
  }

  @Test func journalWritesEachIntentBeforeItsOutcome() async throws {
    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("web", on: "h0")])
    let harness = try Harness(cluster: cluster, policy: Fixture.policy())
    _ = await harness.engine.execute(Fixture.plan([Fixture.move("web", from: "h0", to: "h1")], cluster: cluster))
    let entries = await harness.journal.entries
    var expected: [InMemoryJournal.Entry] = []
    guard case .plan(let plan, dryRun: false) = entries.first, case .moveStarted(let move, vm: "web") = entries[1]
    else {
      Issue.record("journal starts with \(entries.prefix(2))")
      return
    }
    expected = [.plan(plan, dryRun: false), .moveStarted(move, vm: "web")]
    for stage in MigrationStage.stages(for: .live) {
      expected += [.intent(move, stage), .outcome(move, stage, .succeeded)]
    }
    expected += [.moveFinished(move, .completed), .planFinished(plan)]
    #expect(entries == expected)
    #expect(await harness.journal.unfinishedMoves().isEmpty)
  }

  static let profiles: [(String, VM)] = [
    ("quiet", Fixture.vm("vm", on: "h0", memory: .gib(4), dirtyRate: .mbPerSecond(5), workingSet: .mib(64))),
    ("busy", Fixture.vm("vm", on: "h0", memory: .gib(16), dirtyRate: .mbPerSecond(400), workingSet: .gib(2))),
    ("hot", Fixture.vm("vm", on: "h0", memory: .gib(8), dirtyRate: .mbPerSecond(1500), workingSet: .gib(1))),
  ]

  @Test(arguments: profiles.indices)
  func simulatedPreCopyMatchesThePrediction(profile: Int) async throws {
    let (_, vm) = Self.profiles[profile]
    let cluster = Fixture.cluster(hostCount: 2, vms: [vm])
    let policy = Fixture.policy()
    let bandwidth = Bandwidth.gbit(10)
    let prediction = PreCopyRun.predict(Fixture.parameters(vm, policy: policy), bandwidth: bandwidth)

    // The driver alone, at the link's constant bandwidth: exactly the model's figures.
    let driver = try SimulatedDriver(cluster: cluster, timings: .transfersOnly)
    let reservation = try await driver.reserve(MigrationRequest(vm: "vm", from: "h0", to: "h1", kind: .live))
    let result = try await driver.transfer(
      reservation,
      settings: LiveSettings(
        downtimeLimit: policy.downtimeLimit, bandwidthCap: nil, convergence: policy.convergence)
    ) { _ in }
    #expect(result.rounds == prediction.rounds)
    #expect(result.bytesSent == prediction.bytes)
    #expect(result.totalSeconds == prediction.totalSeconds)
    #expect(result.downtimeMs == prediction.downtimeSeconds * 1000)
    #expect(result.throttle == prediction.throttle)
    #expect(driver.clock.elapsed == prediction.totalSeconds)

    // Through the engine: round by round as the model steps it.
    let harness = try Harness(cluster: cluster, policy: policy, timings: .transfersOnly)
    let summary = await harness.engine.execute(
      Fixture.plan([Fixture.move("vm", from: "h0", to: "h1")], cluster: cluster))
    let measured = try #require(summary.results.first?.measured)
    #expect(measured.rounds == prediction.rounds)
    #expect(measured.bytes == prediction.bytes)
    #expect(abs(measured.seconds - prediction.totalSeconds) <= 1e-9 * prediction.totalSeconds)
    #expect(measured.downtimeMs == prediction.downtimeSeconds * 1000)
    var model = PreCopyRun(Fixture.parameters(vm, policy: policy))
    for event in harness.recorder.events where event.type == .progress {
      guard case .round(let index, let bytes, let seconds, _) = model.next(bandwidth: bandwidth) else {
        Issue.record("the model stopped before round \(event.figures.round ?? -1)")
        break
      }
      #expect(event.figures.round == index)
      #expect(event.figures.bytesSent == bytes)
      model.completeRound(seconds: seconds)
      #expect(event.figures.remaining == model.remaining)
    }
  }

  /// A guest dirtying memory faster than the link sends it: pre-copy cannot converge alone.
  static func hotCluster(workingSet: ByteCount) -> Cluster {
    Fixture.cluster(
      hostCount: 2,
      vms: [Fixture.vm("hot", on: "h0", dirtyRate: .mbPerSecond(1500), workingSet: workingSet)])
  }

  @Test(arguments: NoConvergenceAction.allCases)
  func nonConvergenceIsHandledAsThePolicySays(action: NoConvergenceAction) async throws {
    let cluster = Self.hotCluster(workingSet: .gib(2))
    let policy = Fixture.policy(onNoConvergence: action)
    let vm = try #require(cluster.vm(named: "hot"))
    let alone = PreCopyRun.predict(
      Fixture.parameters(vm, policy: Fixture.policy(onNoConvergence: .abort)), bandwidth: .gbit(10))
    #expect(!alone.converges)  // without help it does not converge
    let prediction = PreCopyRun.predict(Fixture.parameters(vm, policy: policy), bandwidth: .gbit(10))
    let harness = try Harness(cluster: cluster, policy: policy, timings: .transfersOnly)
    let summary = await harness.engine.execute(
      Fixture.plan([Fixture.move("hot", from: "h0", to: "h1")], cluster: cluster))
    let result = try #require(summary.results.first)
    let state = await harness.driver.snapshot()
    #expect(state.violations() == [])
    #expect(state.reservations.isEmpty)

    switch action {
    case .abort:
      #expect(result.outcome == .rolledBack)
      #expect(result.failedStage == .preCopy)
      #expect(result.reason?.contains("does not converge") == true)
      #expect(state.instances(of: "hot").map(\.host) == ["h0"])
      #expect(state.instances(of: "hot").first?.state == .running)
    case .accept:
      #expect(result.outcome == .completed)
      let downtime = try #require(result.measured?.downtimeMs)
      #expect(downtime > policy.downtimeLimit.milliseconds)
      #expect(downtime == prediction.downtimeSeconds * 1000)
    case .raiseLimit:
      #expect(result.outcome == .completed)
      let downtime = try #require(result.measured?.downtimeMs)
      #expect(downtime > policy.downtimeLimit.milliseconds)
      #expect(downtime <= policy.convergence.maxDowntime.milliseconds)
    case .throttle:
      #expect(result.outcome == .completed)
      let throttled = harness.recorder.events(of: "hot").compactMap(\.figures.throttle).max() ?? 0
      #expect(throttled >= policy.convergence.throttleInitial)
      #expect(try #require(result.measured?.downtimeMs) <= policy.downtimeLimit.milliseconds)
    }
    if result.outcome == .completed {
      #expect(result.measured?.rounds == prediction.rounds)
      #expect(state.instances(of: "hot").map(\.host) == ["h1"])
    }
  }

  @Test func raisingTheLimitStillAbortsBeyondTheCap() async throws {
    let cluster = Self.hotCluster(workingSet: .gib(4))  // a 3.4 s pause: over the 2 s cap
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(onNoConvergence: .raiseLimit))
    let summary = await harness.engine.execute(
      Fixture.plan([Fixture.move("hot", from: "h0", to: "h1")], cluster: cluster))
    #expect(summary.failed == 1)
    #expect(summary.results.first?.reason?.contains("even with the limit raised") == true)
    #expect(await harness.placements()["hot"] == "h0")
  }

  @Test func aFullyThrottledGuestStillEnds() async throws {
    // Dirtying at 40 GB/s: even at 99 % throttle (400 MB/s dirtied) the guest stays ahead for a while.
    let cluster = Fixture.cluster(
      hostCount: 2, vms: [Fixture.vm("wild", on: "h0", dirtyRate: .mbPerSecond(40_000), workingSet: .gib(6))])
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(onNoConvergence: .throttle))
    let summary = await harness.engine.execute(
      Fixture.plan([Fixture.move("wild", from: "h0", to: "h1")], cluster: cluster))
    let rounds = harness.recorder.events(of: "wild").filter { $0.type == .progress }.count
    #expect(rounds <= 3 * Policy().convergence.maxRounds)
    #expect(summary.done + summary.failed == 1)
    _ = await harness.placements()
  }
}
