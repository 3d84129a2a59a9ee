import BallastEngine
import BallastModel
import BallastTestSupport
import Synchronization
import Testing

@Suite struct PlanExecutionTests {
  /// The most moves in flight at once, per host and in the cluster, from the event stream.
  static func peakConcurrency(_ events: [EngineEvent]) -> (perHost: [String: Int], cluster: Int) {
    var perHost: [String: Int] = [:]
    var peakHost: [String: Int] = [:]
    var cluster = 0
    var peakCluster = 0
    for event in events {
      let hosts = Set([event.from, event.to])
      switch event.type {
      case .moveStarted:
        cluster += 1
        for host in hosts {
          perHost[host, default: 0] += 1
          peakHost[host] = max(peakHost[host] ?? 0, perHost[host] ?? 0)
        }
      case .moveEnded:
        cluster -= 1
        for host in hosts { perHost[host, default: 0] -= 1 }
      default:
        break
      }
      peakCluster = max(peakCluster, cluster)
    }
    return (peakHost, peakCluster)
  }

  @Test(arguments: [(1, 1), (2, 4), (3, 5)])
  func concurrencyLimitsAreNeverExceeded(perHost: Int, clusterLimit: Int) async throws {
    var vms: [VM] = []
    var moves: [PlannedMove] = []
    for i in 0..<30 {
      let from = "h\(i % 3)"
      let to = "h\(3 + (i * 7) % 4)"
      vms.append(Fixture.vm("vm\(i)", on: from, memory: .gib(Double(2 + i % 5))))
      moves.append(Fixture.move("vm\(i)", from: from, to: to))
    }
    let cluster = Fixture.cluster(hostCount: 7, vms: vms)
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(perHost: perHost, cluster: clusterLimit))
    let summary = await harness.engine.execute(Fixture.plan(moves, cluster: cluster))
    #expect(summary.done == 30)
    let peak = Self.peakConcurrency(harness.recorder.events)
    #expect(peak.cluster <= clusterLimit)
    #expect(peak.perHost.values.allSatisfy { $0 <= perHost })
    #expect(peak.cluster == min(clusterLimit, 3 * perHost))  // the limits are used, not just respected
    #expect(summary.makespanSeconds >= summary.lowerBoundSeconds)
    _ = await harness.placements()
  }

  /// Two VMs of 4 and 8 GiB leave one host together: each gets half of its link until the
  /// first is done, then the second gets all of it (no dirtying, transfers only).
  @Test func linkSharingSlowsConcurrentMigrationsOnTheSameSource() async throws {
    let cluster = Fixture.cluster(
      hostCount: 3,
      vms: [
        Fixture.vm("small", on: "h0", memory: .gib(4), dirtyRate: .zero, workingSet: .zero),
        Fixture.vm("large", on: "h0", memory: .gib(8), dirtyRate: .zero, workingSet: .zero),
      ])
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(), timings: .transfersOnly)
    let summary = await harness.engine.execute(
      Fixture.plan(
        [Fixture.move("small", from: "h0", to: "h1"), Fixture.move("large", from: "h0", to: "h2")], cluster: cluster))
    let link = Bandwidth.gbit(10).bytesPerSecond
    let gib = ByteCount.gib(1).double
    let small = try #require(summary.results[0].endedAt)
    let large = try #require(summary.results[1].endedAt)
    #expect(abs(small - 2 * 4 * gib / link) < 1e-6)  // half the link for all of it
    #expect(abs(large - 12 * gib / link) < 1e-6)  // half for 4 GiB, then the whole link for 4 GiB
    #expect(abs(summary.makespanSeconds - summary.lowerBoundSeconds) < 1e-6)  // the link never idled
  }

  @Test func linkSharingAlsoHoldsOnTheDestinationAndUnderACap() async throws {
    let vms = [
      Fixture.vm("a", on: "h0", memory: .gib(8), dirtyRate: .zero, workingSet: .zero),
      Fixture.vm("b", on: "h1", memory: .gib(8), dirtyRate: .zero, workingSet: .zero),
    ]
    let cluster = Fixture.cluster(hostCount: 3, vms: vms)
    let moves = [Fixture.move("a", from: "h0", to: "h2"), Fixture.move("b", from: "h1", to: "h2")]
    let link = Bandwidth.gbit(10).bytesPerSecond
    let memory = ByteCount.gib(8).double

    let shared = try Harness(cluster: cluster, policy: Fixture.policy(), timings: .transfersOnly)
    let together = await shared.engine.execute(Fixture.plan(moves, cluster: cluster))
    #expect(abs(together.makespanSeconds - 2 * memory / link) < 1e-6)

    var capped = Fixture.policy()
    capped.bandwidthCap = Bandwidth(bytesPerSecond: link / 4)
    let slow = try Harness(cluster: cluster, policy: capped, timings: .transfersOnly)
    let alone = await slow.engine.execute(Fixture.plan([moves[0]], cluster: cluster))
    #expect(abs(alone.makespanSeconds - 4 * memory / link) < 1e-6)
    let progress = try #require(slow.recorder.events.first { $0.type == .progress })
    #expect(progress.figures.bandwidthBytesPerSecond == link / 4)
  }

  @Test func dependenciesWaitAndAFailedOneSkipsItsDependents() async throws {
    let cluster = Fixture.cluster(
      hostCount: 3,
      vms: [Fixture.vm("a", on: "h0"), Fixture.vm("b", on: "h1"), Fixture.vm("c", on: "h2")])
    let moves = [
      Fixture.move("a", from: "h0", to: "h1"),
      Fixture.move("a", from: "h1", to: "h2", dependsOn: [0]),  // the same VM, one hop further
      Fixture.move("b", from: "h1", to: "h0"),
      Fixture.move("c", from: "h2", to: "h0", dependsOn: [2]),
    ]
    let harness = try Harness(
      cluster: cluster, policy: Fixture.policy(), faults: [.failStage(vm: "b", stage: .reservation)])
    let summary = await harness.engine.execute(Fixture.plan(moves, cluster: cluster))
    #expect(summary.results.map(\.outcome) == [.completed, .completed, .rolledBack, .skipped])
    #expect(summary.results[3].reason?.contains("move #2") == true)
    let events = harness.recorder.events
    let firstEnd = try #require(events.first { $0.type == .moveEnded && $0.move == 0 })
    let secondStart = try #require(events.first { $0.type == .moveStarted && $0.move == 1 })
    #expect(secondStart.at >= firstEnd.at)
    #expect(await harness.placements() == ["a": "h2", "b": "h1", "c": "h2"])
  }

  @Test func twoRunsOnOneEngineNeverMoveTheSameVMAtOnce() async throws {
    let cluster = Fixture.cluster(hostCount: 3, vms: [Fixture.vm("a", on: "h0"), Fixture.vm("b", on: "h0")])
    let harness = try Harness(cluster: cluster, policy: Fixture.policy())
    let engine = harness.engine
    let first = Fixture.plan([Fixture.move("a", from: "h0", to: "h1")], cluster: cluster)
    let second = Fixture.plan(
      [Fixture.move("a", from: "h0", to: "h2"), Fixture.move("b", from: "h0", to: "h2")], cluster: cluster)
    async let one = engine.execute(first)
    async let two = engine.execute(second)
    let (a, b) = await (one, two)
    // Exactly one run moved `a`; the other skipped it (in flight, or no longer where planned).
    let movesOfA = [a.results[0], b.results[0]]
    #expect(movesOfA.filter { $0.outcome == .completed }.count == 1)
    #expect(movesOfA.filter { $0.outcome == .skipped }.count == 1)
    #expect(b.results[1].outcome == .completed)
    _ = await harness.placements()
  }

  @Test func aRefusedPlanMovesNothing() async throws {
    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("a", on: "h0")])
    var plan = Fixture.plan([Fixture.move("a", from: "h0", to: "h1")], cluster: cluster)
    plan.refusal = "liveIneligible is fail and VM x cannot move live"
    let harness = try Harness(cluster: cluster, policy: Fixture.policy())
    let summary = await harness.engine.execute(plan)
    #expect(summary.skipped == 1)
    #expect(summary.results[0].reason?.contains("refused") == true)
    #expect(await harness.placements()["a"] == "h0")
  }

  static func drainCluster(vmCount: Int, destinations: Int) -> (Cluster, [PlannedMove]) {
    var vms: [VM] = []
    var moves: [PlannedMove] = []
    for i in 0..<vmCount {
      // A deterministic mix: 2–16 GiB, 10–150 MB/s dirty rates, 64–512 MiB working sets.
      let memory = ByteCount.gib(Double(2 + (i * 5) % 15))
      let dirty = Bandwidth.mbPerSecond(Double(10 + (i * 37) % 141))
      let workingSet = ByteCount.mib(Double(64 + (i * 53) % 449))
      vms.append(Fixture.vm("vm\(i)", on: "h0", memory: memory, dirtyRate: dirty, workingSet: workingSet))
      moves.append(Fixture.move("vm\(i)", from: "h0", to: "h\(1 + i % destinations)"))
    }
    return (Fixture.cluster(hostCount: destinations + 1, vms: vms), moves)
  }

  @Test func drainingFortyRunningVMsStaysWithinFifteenPercentOfTheLowerBound() async throws {
    let (cluster, moves) = Self.drainCluster(vmCount: 40, destinations: 10)
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(perHost: 2, cluster: 8))
    let summary = await harness.engine.execute(Fixture.plan(moves, cluster: cluster, trigger: .drain))
    #expect(summary.done == 40)
    let ratio = summary.makespanSeconds / summary.lowerBoundSeconds
    print(
      "drain of 40 VMs: makespan \(summary.makespanSeconds) s, lower bound \(summary.lowerBoundSeconds) s, "
        + "ratio \(ratio), total downtime \(summary.totalDowntimeMs) ms, max \(summary.maxDowntimeMs) ms")
    #expect(summary.lowerBoundSeconds > 0)
    #expect(ratio >= 1 && ratio <= 1.15)
    let placements = await harness.placements()
    #expect(placements.values.allSatisfy { $0 != "h0" })
  }
}
