import BallastEngine
import BallastModel
import Testing

@testable import BallastHistory

/// The cost model's memory in the history: observations and learned estimates.
@Suite("Learned cost model figures")
struct ModelTests {
  static func observation(vm: String, bytes: Double, first: Double) -> MigrationObservation {
    MigrationObservation(
      vm: vm, from: "h1", to: "h2", kind: .live,
      vmAtStart: VM(
        name: vm, host: "h1", vcpus: 2, memory: .gib(4), cpuModel: "qemu64", usage: Usage(cpu: 0.5, memory: 0.5),
        dirtyRate: .mbPerSecond(10), workingSet: .mib(256)),
      downtimeLimitSeconds: 0.3, convergence: Convergence(), nominalRate: 1.25e9, cap: nil, fairShare: 1,
      totalSeconds: bytes / 1e9 + 0.5, setupSeconds: 0.3, transferSeconds: bytes / 1e9 + 0.01, finishSeconds: 0.19,
      bytes: bytes, rounds: 2, firstRoundBytes: first, finalCopyBytes: 1e6, downtimeSeconds: 0.011)
  }

  @Test(
    "a completed move's observation updates its VM's and link's estimates, read back per cluster",
    arguments: Backend.allCases)
  func learnsAndReadsBack(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let planID = try await store.recordPlan(plan([liveMove("web1", from: "h1", to: "h2")]), dryRun: false, at: 1)
      let move = try await store.moveStarted(
        plan: planID, index: 0, move: liveMove("web1", from: "h1", to: "h2"), at: 2)
      try await store.moveFinished(
        move: move, outcome: .completed, measured: MeasuredCost(seconds: 3, downtimeMs: 11, bytes: 2.3e9, rounds: 2),
        at: 5, detail: nil)
      let observation = Self.observation(vm: "web1", bytes: 2.3e9, first: 2.2e9)
      try await store.recordObservation(observation, move: move, learn: true, settings: LearningSettings())
      let learned = try await store.learnedEstimates(cluster: "lab")
      let vm = try #require(learned.vms["web1"])
      #expect(vm.touchedMemory?.count == 1)
      #expect(vm.dirtyRate?.count == 1)
      let link = try #require(learned.links[HostPair(from: "h1", to: "h2")])
      #expect(link.liveSetupSeconds?.count == 1)
      #expect(link.efficiency.map { $0.value > 0.7 && $0.value <= 1 } == true)
      // The other way round: the steps only (the same two hypervisors), not the link's rate.
      let reverse = try #require(learned.links[HostPair(from: "h2", to: "h1")])
      #expect(reverse.liveSetupSeconds?.value == 0.3 && reverse.liveFinishSeconds?.count == 1)
      #expect(reverse.efficiency == nil && reverse.pause == nil)
      #expect(try await store.learnedEstimates(cluster: "other").isEmpty)
      // Kept in plain SQL for the sqlite3 and psql shells.
      let rows = try await store.rowsForTest("SELECT count(*) AS n FROM model_observations WHERE learned = 1")
      #expect(try rows.first?.decode(Int.self, forColumn: "n") == 1)
    }
  }

  @Test("with learning off the observation is kept and nothing is learned", arguments: Backend.allCases)
  func learningOff(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let planID = try await store.recordPlan(plan([liveMove("web1", from: "h1", to: "h2")]), dryRun: false, at: 1)
      let move = try await store.moveStarted(
        plan: planID, index: 0, move: liveMove("web1", from: "h1", to: "h2"), at: 2)
      try await store.recordObservation(
        Self.observation(vm: "web1", bytes: 2.3e9, first: 2.2e9), move: move, learn: false,
        settings: LearningSettings())
      #expect(try await store.learnedEstimates(cluster: "lab").isEmpty)
      let rows = try await store.rowsForTest("SELECT count(*) AS n FROM model_observations WHERE learned = 0")
      #expect(try rows.first?.decode(Int.self, forColumn: "n") == 1)
    }
  }
}
