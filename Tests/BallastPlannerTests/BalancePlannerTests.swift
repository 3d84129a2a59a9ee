import BallastModel
import Testing

@testable import BallastPlanner

@Suite("Balance planner")
struct BalancePlannerTests {
  /// h1 is hot (four busy VMs), h2 and h3 are nearly idle.
  static let hot = Fixture.cluster(
    [Fixture.host("h1"), Fixture.host("h2"), Fixture.host("h3")],
    [
      Fixture.vm("a", on: "h1", vcpus: 4, memoryGiB: 8, cpu: 0.9),
      Fixture.vm("b", on: "h1", vcpus: 4, memoryGiB: 8, cpu: 0.8),
      Fixture.vm("c", on: "h1", vcpus: 4, memoryGiB: 8, cpu: 0.7),
      Fixture.vm("d", on: "h1", vcpus: 2, memoryGiB: 4, cpu: 0.6),
      Fixture.vm("idle", on: "h2", vcpus: 1, memoryGiB: 2, cpu: 0.1),
      Fixture.vm("parked", on: "h1", vcpus: 8, memoryGiB: 32, state: .stopped),
    ])

  /// Replays the plan's moves in start order and checks each against the filters.
  static func replayIsValid(_ plan: MigrationPlan, cluster: Cluster, policy: Policy) -> Bool {
    var state = PlacementState(cluster: cluster, policy: policy)
    let pipeline = PlacementPipeline(policy: policy)
    var cache = PredictionCache()
    for move in plan.moves {
      guard let v = state.vmPosition(move.vm), let d = state.hostPosition(move.to),
        state.host(state.hostOf[v]).name == move.from,
        case .pass = pipeline.check(MoveRequest(vm: v, destination: d), in: state, cache: &cache)
      else { return false }
      state.move(v, to: d)
    }
    return true
  }

  @Test("Nothing moves while the imbalance is within the threshold")
  func withinThreshold() throws {
    let policy = Fixture.policy { $0.threshold = 0.9 }
    let plan = try BalancePlanner.plan(cluster: Self.hot, policy: policy)
    #expect(plan.moves.isEmpty)
    #expect(plan.after == plan.before)
    #expect(plan.notes.contains { $0.contains("within the threshold") })
  }

  @Test("Moves cut the imbalance, each by at least the minimum per cost unit, until within the threshold")
  func movesReduceImbalance() throws {
    let policy = Policy()
    let plan = try BalancePlanner.plan(cluster: Self.hot, policy: policy)
    #expect(!plan.moves.isEmpty)
    #expect(plan.after.imbalance < plan.before.imbalance)
    #expect(plan.moves.allSatisfy { $0.from == "h1" })
    // It stops once the imbalance is within the threshold.
    #expect(plan.after.imbalance <= policy.threshold)
    #expect(plan.notes == ["stopped after \(plan.moves.count) moves: the imbalance is within the threshold 0.050"])
    #expect(plan.moves.map(\.kind) == Array(repeating: .live, count: plan.moves.count))
    #expect(plan.moves.count <= policy.maxMovesPerRound)
    #expect(Self.replayIsValid(plan, cluster: Self.hot, policy: policy))
    // Each move, at its place in the plan, removes at least the policy's minimum.
    var state = PlacementState(cluster: Self.hot, policy: policy)
    for move in plan.moves {
      let v = try #require(state.vmPosition(move.vm))
      let d = try #require(state.hostPosition(move.to))
      let required = policy.effectiveMinImprovement * MigrationCost.units(move.predicted)
      #expect(state.imbalance - state.imbalanceAfterMoving(v, to: d) >= required - 1e-12)
      state.move(v, to: d)
    }
    #expect(abs(state.imbalance - plan.after.imbalance) < 1e-9)
    // The score breakdown is the balance profile's.
    let first = try #require(plan.moves.first)
    #expect(first.score.map(\.name) == ["balance-per-cost", "vm-host-preference", "headroom"])
    #expect(first.reason.hasPrefix("step 1 of \(plan.moves.count): imbalance "))
  }

  @Test("At most maxMovesPerRound moves, and no VM moves twice")
  func moveLimit() throws {
    let policy = Fixture.policy {
      $0.maxMovesPerRound = 2
      $0.minImprovement = 1e-9
      $0.threshold = 0
    }
    let plan = try BalancePlanner.plan(cluster: Self.hot, policy: policy)
    #expect(plan.moves.count == 2)
    #expect(Set(plan.moves.map(\.vm)).count == plan.moves.count)
    #expect(plan.notes.contains("stopped at the policy's 2 moves per round"))
  }

  @Test("Stopped VMs are not load and are never moved for balance")
  func stoppedVMs() throws {
    let plan = try BalancePlanner.plan(cluster: Self.hot, policy: Fixture.policy { $0.minImprovement = 1e-9 })
    #expect(!plan.moves.contains { $0.vm == "parked" })
    let h1 = plan.before.hosts.first { $0.name == "h1" }
    // 14 GiB of 28 running VMs on a 64 GiB host: the stopped 32 GiB VM does not count.
    #expect(abs((h1?.memory ?? 0) - 28.0 / 64) < 1e-12)
  }

  @Test("A VM inside its cooldown stays put, and the plan says why")
  func cooldown() throws {
    let policy = Policy()
    let free = try BalancePlanner.plan(cluster: Self.hot, policy: policy)
    let first = try #require(free.moves.first?.vm)
    let history = MoveHistory(lastMove: [first: .init(at: 1000, from: "h3")], now: 1000 + 600)
    let plan = try BalancePlanner.plan(cluster: Self.hot, policy: policy, history: history)
    #expect(!plan.moves.contains { $0.vm == first })
    let rejection = try #require(plan.rejected.first { $0.vm == first })
    #expect(rejection.filter == "cooldown")
    #expect(rejection.host == nil)
    #expect(rejection.reason == "moved 10m 0s ago from h3; it stays put for the 1h cooldown (50m 0s left)")
    // Once the cooldown is over it may move again.
    let later = MoveHistory(lastMove: [first: .init(at: 1000, from: "h3")], now: 1000 + 3601)
    #expect(try BalancePlanner.plan(cluster: Self.hot, policy: policy, history: later).moves.first?.vm == first)
  }

  @Test("Hosts in maintenance are neither sources nor destinations")
  func maintenanceHosts() throws {
    var cluster = Self.hot
    cluster.hosts.append(Fixture.host("h4", state: .maintenance))
    cluster.vms.append(Fixture.vm("leaving", on: "h4", vcpus: 8, memoryGiB: 32, cpu: 1))
    let plan = try BalancePlanner.plan(cluster: cluster, policy: Fixture.policy { $0.minImprovement = 1e-9 })
    #expect(!plan.moves.isEmpty)
    #expect(!plan.moves.contains { $0.to == "h4" || $0.from == "h4" })
  }

  @Test("Under liveIneligible: skip a VM on local storage never moves; the plan lists why")
  func skipLocal() throws {
    let cluster = Fixture.cluster(
      [Fixture.host("h1", stores: ["san", "h1-local"]), Fixture.host("h2")],
      [
        Fixture.vm(
          "local", on: "h1", vcpus: 8, memoryGiB: 16, cpu: 0.9, disks: [Disk(datastore: "h1-local", size: .gib(10))]),
        Fixture.vm("shared", on: "h1", vcpus: 2, memoryGiB: 4, cpu: 0.5),
      ])
    let plan = try BalancePlanner.plan(cluster: cluster, policy: Fixture.policy { $0.liveIneligible = .skip })
    #expect(plan.moves.map(\.vm) == ["shared"])
    #expect(plan.rejected.contains { $0.vm == "local" && $0.filter == "storage" })
  }

  @Test("Under liveIneligible: cold a move that shuts a VM down must be worth its outage")
  func coldIsCostly() throws {
    let cluster = Fixture.cluster(
      [Fixture.host("h1", stores: ["san", "h1-local"]), Fixture.host("h2")],
      [
        Fixture.vm(
          "local", on: "h1", vcpus: 8, memoryGiB: 16, cpu: 0.9, disks: [Disk(datastore: "h1-local", size: .gib(10))]),
        Fixture.vm("shared", on: "h1", vcpus: 4, memoryGiB: 8, cpu: 0.9),
      ])
    let plan = try BalancePlanner.plan(
      cluster: cluster, policy: Fixture.policy { $0.maxMovesPerRound = 1 })
    #expect(plan.moves.map(\.vm) == ["shared"])
    #expect(plan.moves.first?.kind == .live)
  }

  @Test("A move into a host that needs room another move frees depends on it and starts after it")
  func dependencies() throws {
    // x is full; a leaves x for z, then b can go from y to x.
    let cluster = Fixture.cluster(
      [Fixture.host("x", memoryGiB: 16), Fixture.host("y"), Fixture.host("z")],
      [
        Fixture.vm("a", on: "x", memoryGiB: 12), Fixture.vm("b", on: "y", memoryGiB: 8),
        Fixture.vm("c", on: "y", memoryGiB: 4),
      ])
    let state = PlacementState(cluster: cluster, policy: Policy())
    let a = try #require(state.vmPosition("a"))
    let b = try #require(state.vmPosition("b"))
    let c = try #require(state.vmPosition("c"))
    let x = try #require(state.hostPosition("x"))
    let z = try #require(state.hostPosition("z"))
    // c fits on x next to a (12 + 4 = 16); b needs a gone; c's reservation also holds room.
    let needs = MoveDependencies.compute([(a, z), (c, x), (b, x)], initial: state)
    #expect(needs == [[], [], [0]])
    let moves = [("a", "x", "z", 30.0), ("c", "y", "x", 5.0), ("b", "y", "x", 10.0)].enumerated().map { i, m in
      PlannedMove(
        vm: m.0, from: m.1, to: m.2, kind: .live, reason: "",
        predicted: PredictedCost(
          seconds: m.3, downtimeMs: 1, bytes: 0, rounds: 1, converges: true), dependsOn: needs[i])
    }
    let (scheduled, makespan) = PredictedTimeline(concurrency: Concurrency(perHost: 2, cluster: 8)).schedule(moves)
    let start = Dictionary(uniqueKeysWithValues: scheduled.map { ($0.vm, $0.plannedStartSeconds) })
    #expect(start["a"] == 0)
    #expect(start["c"] == 0)
    #expect(start["b"] == 30)
    #expect(makespan == 40)
    let bMove = try #require(scheduled.first { $0.vm == "b" })
    #expect(bMove.dependsOn.map { scheduled[$0].vm } == ["a"])
  }

  @Test("Same input, same plan")
  func deterministic() throws {
    let cluster = Fixture.large(hosts: 60, vms: 900, seed: 3)
    let policy = Fixture.policy { $0.minImprovement = 1e-5 }
    let first = try BalancePlanner.plan(cluster: cluster, policy: policy)
    let second = try BalancePlanner.plan(cluster: cluster, policy: policy)
    #expect(first == second)
    #expect(!first.moves.isEmpty)
  }

  @Test("A large partitioned cluster: valid live moves that cut the imbalance")
  func largeCluster() throws {
    let cluster = Fixture.large(hosts: 300, vms: 6000, seed: 11)
    let policy = Fixture.policy { $0.minImprovement = 1e-5 }
    let plan = try BalancePlanner.plan(cluster: cluster, policy: policy)
    #expect(plan.moves.count == policy.maxMovesPerRound)
    #expect(plan.after.imbalance < plan.before.imbalance)
    #expect(plan.moves.allSatisfy { $0.kind == .live })
    #expect(Self.replayIsValid(plan, cluster: cluster, policy: policy))
  }
}
