import BallastEngine
import BallastModel
import BallastTestSupport
import Testing

@Suite struct PreflightCheckTests {
  let policy = Policy()

  func check(
    _ move: PlannedMove, _ cluster: Cluster, placements: [VMPlacement]? = nil, held: [CapacityHold] = []
  ) -> Result<PreflightResult, NotPossible> {
    let vm = cluster.vm(named: move.vm)
    let found =
      placements ?? [VMPlacement(host: vm?.host ?? "", state: vm?.state.isRunning == true ? .running : .stopped)]
    return PreflightCheck.check(move, cluster: cluster, placements: found, policy: policy, held: held)
  }

  func rejection(_ result: Result<PreflightResult, NotPossible>) -> NotPossible? {
    if case .failure(let notPossible) = result { return notPossible }
    return nil
  }

  @Test func aMoveThatFitsPasses() throws {
    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("a", on: "h0")])
    let accepted = try check(Fixture.move("a", from: "h0", to: "h1"), cluster).get()
    #expect(accepted.running)
    #expect(accepted.hold == CapacityHold(host: "h1", memory: ByteCount.gib(8).bytes, vcpus: 4))
  }

  @Test func maintenanceDestinationIsRejected() {
    let cluster = Fixture.cluster(
      hosts: [Fixture.host("h0"), Fixture.host("h1", state: .maintenance)], vms: [Fixture.vm("a", on: "h0")])
    #expect(rejection(check(Fixture.move("a", from: "h0", to: "h1"), cluster))?.check == .hostState)
  }

  @Test func missingCPUFeaturesAreNamed() {
    let cluster = Fixture.cluster(
      hosts: [Fixture.host("h0"), Fixture.host("h1", cpuModel: "EPYC-Rome")], vms: [Fixture.vm("a", on: "h0")])
    let notPossible = rejection(check(Fixture.move("a", from: "h0", to: "h1"), cluster))
    #expect(notPossible?.check == .cpuCompatibility)
    #expect(notPossible?.reason.contains("avx512") == true)
  }

  @Test func liveNeedsSharedStorageButColdCopiesTheDisks() throws {
    let vm = Fixture.vm("a", on: "h0", state: .stopped, disks: [Disk(datastore: "h0-local", size: .gib(20))])
    let cluster = Fixture.cluster(
      hosts: [Fixture.host("h0", datastores: ["h0-local"]), Fixture.host("h1", datastores: ["h1-local"])], vms: [vm])
    var running = cluster
    running.vms[0].state = .running
    #expect(rejection(check(Fixture.move("a", from: "h0", to: "h1"), running))?.check == .storage)
    let cold = try check(Fixture.move("a", from: "h0", to: "h1", kind: .cold), cluster).get()
    #expect(cold.disksToCopy == vm.disks)
    #expect(cold.hold.memory == 0)
  }

  @Test func capacityCountsMovesInFlight() {
    let cluster = Fixture.cluster(
      hosts: [Fixture.host("h0"), Fixture.host("h1", memory: .gib(20))], vms: [Fixture.vm("a", on: "h0")])
    let move = Fixture.move("a", from: "h0", to: "h1")
    #expect(rejection(check(move, cluster)) == nil)
    let held = [CapacityHold(host: "h1", memory: ByteCount.gib(16).bytes, vcpus: 4)]
    #expect(rejection(check(move, cluster, held: held))?.check == .capacity)
  }

  @Test func theVMMustStillBeWhereAndAsThePlanSaw() {
    let cluster = Fixture.cluster(hostCount: 3, vms: [Fixture.vm("a", on: "h0")])
    let move = Fixture.move("a", from: "h0", to: "h1")
    #expect(
      rejection(check(move, cluster, placements: [VMPlacement(host: "h2", state: .running)]))?.check == .location)
    #expect(
      rejection(
        check(move, cluster, placements: [.init(host: "h0", state: .running), .init(host: "h1", state: .incoming)])
      )?.reason.contains("reconcile") == true)
    #expect(rejection(check(move, cluster, placements: [.init(host: "h0", state: .stopped)]))?.check == .state)
    let coldWithoutShutdown = Fixture.move("a", from: "h0", to: "h1", kind: .cold)
    #expect(rejection(check(coldWithoutShutdown, cluster))?.check == .state)
    let coldWithShutdown = Fixture.move("a", from: "h0", to: "h1", kind: .cold, requiresShutdown: true)
    #expect(rejection(check(coldWithShutdown, cluster)) == nil)
  }

  @Test func aRejectedMoveIsSkippedNotFailed() async throws {
    let cluster = Fixture.cluster(
      hosts: [Fixture.host("h0"), Fixture.host("h1", state: .maintenance)], vms: [Fixture.vm("a", on: "h0")])
    let harness = try Harness(cluster: cluster, policy: Fixture.policy())
    let summary = await harness.engine.execute(
      Fixture.plan([Fixture.move("a", from: "h0", to: "h1")], cluster: cluster))
    #expect(summary.skipped == 1 && summary.failed == 0)
    #expect(summary.results.first?.reason?.contains("maintenance") == true)
    #expect(harness.recorder.stageEnds(of: "a").map(\.0) == [.preMigration])
  }
}

/// Stage 0 runs the planner's own checks: the same check names and the same sentences.
@Suite struct PreflightSharesThePlannersChecksTests {
  func notPossible(_ move: PlannedMove, _ cluster: Cluster, held: [CapacityHold] = []) -> NotPossible? {
    let vm = cluster.vm(named: move.vm)
    let found = [VMPlacement(host: vm?.host ?? "", state: vm?.state.isRunning == true ? .running : .stopped)]
    if case .failure(let notPossible) = PreflightCheck.check(
      move, cluster: cluster, placements: found, policy: Policy(), held: held)
    {
      return notPossible
    }
    return nil
  }

  @Test func capacityIsWordedAsThePlannerWordsIt() throws {
    let cluster = Fixture.cluster(
      hosts: [Fixture.host("h0"), Fixture.host("h1", memory: .gib(20))], vms: [Fixture.vm("a", on: "h0")])
    let held = [CapacityHold(host: "h1", memory: ByteCount.gib(16).bytes, vcpus: 4)]
    let refused = try #require(notPossible(Fixture.move("a", from: "h0", to: "h1"), cluster, held: held))
    let vm = try #require(cluster.vm(named: "a"))
    let host = try #require(cluster.host(named: "h1"))
    let planners = CapacityCheck.sentence(
      .memory(free: ByteCount.gib(4).double), vm: vm, host: host, overcommit: Policy().overcommit)
    #expect(refused.check == .capacity)
    #expect(refused.reason == planners + " (counting the moves in flight)")
  }

  @Test func aStoppedVMTooBigToEverStartThereIsNotPossible() throws {
    let cluster = Fixture.cluster(
      hosts: [Fixture.host("h0"), Fixture.host("h1", memory: .gib(4))],
      vms: [Fixture.vm("a", on: "h0", state: .stopped, memory: .gib(8))])
    let refused = try #require(notPossible(Fixture.move("a", from: "h0", to: "h1", kind: .cold), cluster))
    #expect(refused.check == .capacity)
    #expect(refused.reason.contains("to start"))
  }

  @Test func maintenanceAndCPUUseThePlannersNamesAndSentences() throws {
    let cluster = Fixture.cluster(
      hosts: [Fixture.host("h0"), Fixture.host("h1", cpuModel: "EPYC-Rome"), Fixture.host("hm", state: .maintenance)],
      vms: [Fixture.vm("a", on: "h0")])
    let maintenance = try #require(notPossible(Fixture.move("a", from: "h0", to: "hm"), cluster))
    #expect(maintenance.check == .hostState)
    #expect(maintenance.reason == HostStateCheck.sentence(.maintenance, vm: "a", host: "hm"))
    let cpu = try #require(notPossible(Fixture.move("a", from: "h0", to: "h1"), cluster))
    #expect(cpu.check == .cpuCompatibility)
    let host = try #require(cluster.host(named: "h1"))
    let missing = CPUCheck.missingFeatures(vmModel: "Cascadelake-Server", on: host)
    #expect(
      cpu.reason.hasPrefix(
        CPUCheck.sentence(vm: "a", vmModel: "Cascadelake-Server", host: "h1", hostModel: "EPYC-Rome", missing: missing))
    )
  }
}
