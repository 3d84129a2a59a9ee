import BallastEngine
import BallastModel
import BallastTestSupport
import Testing

@Suite struct ColdMigrationTests {
  @Test func aStoppedVMMovesThroughTheColdStagesAndStaysOff() async throws {
    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("batch", on: "h0", state: .stopped)])
    let harness = try Harness(cluster: cluster, policy: Fixture.policy())
    let summary = await harness.engine.execute(
      Fixture.plan([Fixture.move("batch", from: "h0", to: "h1", kind: .cold)], cluster: cluster))

    #expect(summary.done == 1)
    let ends = harness.recorder.stageEnds(of: "batch")
    #expect(ends.map(\.0) == MigrationStage.stages(for: .cold))
    #expect(ends.allSatisfy { $0.1 == .succeeded })
    let start = try #require(harness.recorder.events(of: "batch").last { $0.stage == .start })
    #expect(start.figures.note == "left off (it was off)")
    #expect(summary.results.first?.measured?.downtimeMs == 0)
    let state = await harness.driver.snapshot()
    #expect(state.violations() == [])
    #expect(
      state.instances(of: "batch") == [
        SimulatedInstance(
          host: "h1", state: .stopped, owner: true, checksum: SimulatedState.checksum(of: cluster.vms[0]))
      ])
    let journal = await harness.journal.entries
    let intents = journal.compactMap { entry -> MigrationStage? in
      if case .intent(_, let stage) = entry { return stage }
      return nil
    }
    #expect(intents == MigrationStage.stages(for: .cold))
  }

  @Test func aRunningVMIsShutDownMovedAndStartedTakingWhatTheModelPredicts() async throws {
    let vm = Fixture.vm("app", on: "h0", disks: [Disk(datastore: "h0-local", size: .gib(30))])
    let cluster = Fixture.cluster(
      hosts: [Fixture.host("h0", datastores: ["h0-local"]), Fixture.host("h1", datastores: ["h1-local", "san"])],
      vms: [vm])
    // The simulated hypervisors' steps take what the cost model's priors say.
    let harness = try Harness(cluster: cluster, policy: Fixture.policy())
    let summary = await harness.engine.execute(
      Fixture.plan([Fixture.move("app", from: "h0", to: "h1", kind: .cold, requiresShutdown: true)], cluster: cluster))

    let result = try #require(summary.results.first)
    #expect(result.outcome == .completed)
    let prediction = CostModel().predictCold(
      vm: vm, disksToCopy: vm.disks, from: cluster.hosts[0], to: cluster.hosts[1], policy: Fixture.policy())
    let measured = try #require(result.measured)
    #expect(abs(measured.seconds - prediction.totalSeconds) < 1e-6)
    #expect(abs(measured.downtimeMs - prediction.downtimeSeconds * 1000) < 1e-3)
    #expect(measured.bytes == prediction.bytes)
    let state = await harness.driver.snapshot()
    #expect(state.violations() == [])
    let moved = try #require(state.cluster.vm(named: "app"))
    #expect(moved.host == "h1" && moved.state == .running)
    #expect(moved.disks.map(\.datastore) == ["h1-local"])  // copied to the destination's local datastore
    let copy = try #require(harness.recorder.events(of: "app").first { $0.type == .stageEnded && $0.stage == .copy })
    #expect(copy.figures.checksum?.contains(SimulatedState.checksum(of: vm)) == true)
  }

  @Test func aChecksumMismatchKeepsTheSourceAndRemovesTheBadCopy() async throws {
    let vm = Fixture.vm("app", on: "h0", disks: [Disk(datastore: "h0-local", size: .gib(30))])
    let cluster = Fixture.cluster(
      hosts: [Fixture.host("h0", datastores: ["h0-local"]), Fixture.host("h1", datastores: ["h1-local"])], vms: [vm])
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), faults: [.checksumMismatch(vm: "app")])
    let summary = await harness.engine.execute(
      Fixture.plan([Fixture.move("app", from: "h0", to: "h1", kind: .cold, requiresShutdown: true)], cluster: cluster))
    let result = try #require(summary.results.first)
    #expect(result.outcome == .rolledBack)
    #expect(result.failedStage == .copy)
    #expect(result.reason?.contains("checksum mismatch") == true)
    let state = await harness.driver.snapshot()
    #expect(state.violations() == [])
    #expect(state.reservations.isEmpty)
    #expect(state.instances(of: "app").map(\.host) == ["h0"])
    #expect(state.cluster.vm(named: "app")?.state == .running)  // started again where it was
    #expect(state.cluster.vm(named: "app")?.disks == vm.disks)
  }
}
