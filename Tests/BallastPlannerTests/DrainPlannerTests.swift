import BallastModel
import Testing

@testable import BallastPlanner

@Suite("Drain planner")
struct DrainPlannerTests {
  static let cluster = Fixture.cluster(
    [
      Fixture.host("h1", stores: ["san", "h1-local"]), Fixture.host("h2"), Fixture.host("h3"),
      Fixture.host("h4", state: .maintenance),
    ],
    [
      Fixture.vm("web-1", on: "h1", vcpus: 4, memoryGiB: 8, cpu: 0.7),
      Fixture.vm("web-2", on: "h1", vcpus: 2, memoryGiB: 4, cpu: 0.4),
      Fixture.vm("db", on: "h1", vcpus: 8, memoryGiB: 16, cpu: 0.5),
      Fixture.vm("off", on: "h1", state: .stopped, disks: [Disk(datastore: "h1-local", size: .gib(20))]),
      Fixture.vm("other", on: "h2", vcpus: 4, memoryGiB: 8, cpu: 0.5),
    ])

  @Test("Every VM leaves, to active hosts only; the host ends in maintenance and empty")
  func evacuates() throws {
    let policy = Policy()
    let plan = try DrainPlanner.plan(host: "h1", cluster: Self.cluster, policy: policy)
    #expect(plan.refusal == nil)
    #expect(plan.trigger == .drain)
    #expect(Set(plan.moves.map(\.vm)) == ["web-1", "web-2", "db", "off"])
    #expect(plan.moves.allSatisfy { $0.from == "h1" && ($0.to == "h2" || $0.to == "h3") })
    #expect(plan.moves.first { $0.vm == "off" }?.kind == .cold)
    #expect(plan.moves.first { $0.vm == "off" }?.disksToCopy.map(\.datastore) == ["h1-local"])
    #expect(plan.moves.filter { $0.vm != "off" }.allSatisfy { $0.kind == .live })
    let h1 = try #require(plan.after.hosts.first { $0.name == "h1" })
    #expect(h1.state == .maintenance)
    #expect(h1.cpu == 0 && h1.memory == 0)
    #expect(plan.notes.first == "h1 goes into maintenance first: it takes no VMs while it drains")
    // The remaining hosts end up even: the two big VMs do not land on the same host.
    let db = plan.moves.first { $0.vm == "db" }?.to
    let web1 = plan.moves.first { $0.vm == "web-1" }?.to
    #expect(db != web1)
    #expect(db == "h3")
  }

  @Test("Moves run within the per-host and cluster limits, longest first, and the makespan adds up")
  func schedule() throws {
    for limits in [
      Concurrency(perHost: 1, cluster: 8), Concurrency(perHost: 2, cluster: 8), Concurrency(perHost: 4, cluster: 2),
    ] {
      let policy = Fixture.policy { $0.concurrency = limits }
      let plan = try DrainPlanner.plan(host: "h1", cluster: Self.cluster, policy: policy)
      var end = 0.0
      for move in plan.moves {
        let t = move.plannedStartSeconds
        end = max(end, t + move.predicted.seconds)
        let running = plan.moves.filter {
          $0.plannedStartSeconds <= t && t < $0.plannedStartSeconds + $0.predicted.seconds
        }
        #expect(running.count <= limits.cluster)
        for host in [move.from, move.to] {
          #expect(running.filter { $0.from == host || $0.to == host }.count <= limits.perHost)
        }
      }
      #expect(abs(plan.predictedMakespanSeconds - end) < 1e-9)
      #expect(plan.moves.map(\.plannedStartSeconds) == plan.moves.map(\.plannedStartSeconds).sorted())
    }
  }

  @Test("LPT list scheduling, worked by hand: 10, 7, 5, 4, 3 s from one host, two at a time")
  func longestFirst() {
    let moves = [("e", 3.0), ("b", 7.0), ("d", 4.0), ("a", 10.0), ("c", 5.0)].enumerated().map { i, m in
      PlannedMove(
        vm: m.0, from: "src", to: "dst\(i)", kind: .live, reason: "",
        predicted: PredictedCost(seconds: m.1, downtimeMs: 0, bytes: 0, rounds: 1, converges: true))
    }
    let (scheduled, makespan) = PredictedTimeline(concurrency: Concurrency(perHost: 2, cluster: 8)).schedule(moves)
    #expect(scheduled.map(\.vm) == ["a", "b", "c", "d", "e"])
    #expect(scheduled.map(\.plannedStartSeconds) == [0, 0, 7, 10, 12])
    #expect(makespan == 15)
  }

  @Test("Refused with every VM that cannot go, and each host's reason")
  func refusal() throws {
    let cluster = Fixture.cluster(
      [Fixture.host("h1"), Fixture.host("h2", memoryGiB: 32), Fixture.host("h3", memoryGiB: 32)],
      [
        Fixture.vm("pinned", on: "h1", labels: ["pin": "yes"]),
        Fixture.vm("huge", on: "h1", memoryGiB: 48),
        Fixture.vm("spread-1", on: "h1", labels: ["app": "spread"]),
        Fixture.vm("spread-2", on: "h2", labels: ["app": "spread"]),
        Fixture.vm("spread-3", on: "h3", labels: ["app": "spread"]),
        Fixture.vm("fine", on: "h1"),
      ])
    let policy = Fixture.policy {
      $0.rules = [
        PlacementRule(name: "stay", kind: .vmHost, selector: ["pin": "yes"], hosts: ["h1"], mode: .must),
        PlacementRule(name: "spread", kind: .antiAffinity, selector: ["app": "spread"]),
      ]
    }
    let plan = try DrainPlanner.plan(host: "h1", cluster: cluster, policy: policy)
    #expect(plan.moves.isEmpty)
    let refusal = try #require(plan.refusal)
    #expect(refusal.hasPrefix("cannot drain h1: 3 of 4 VMs have nowhere to go ("))
    for vm in ["pinned", "huge", "spread-1"] { #expect(refusal.contains(vm)) }
    #expect(!refusal.contains("fine"))
    // One summary per blocked VM, then each other host's reason.
    for (vm, filter) in [("pinned", "vm-host"), ("huge", "capacity"), ("spread-1", "anti-affinity")] {
      let rows = plan.rejected.filter { $0.vm == vm }
      #expect(rows.filter { $0.host == nil }.map(\.filter) == [filter])
      #expect(Set(rows.compactMap(\.host)) == ["h2", "h3"])
      #expect(rows.filter { $0.host != nil }.allSatisfy { $0.filter == filter })
    }
    #expect(
      plan.rejected.first { $0.vm == "huge" && $0.host == "h2" }?.reason
        == "needs 48GiB, h2 has 28GiB free under a 1.0× memory overcommit")
    #expect(plan.after == plan.before)
  }

  @Test("A drain that could only finish by breaking a hard rule is refused, naming the rule; soft rules yield")
  func hardRulesRefuseSoftRulesYield() throws {
    // db-1 can only go to h2, which holds db-2: only the anti-affinity rule stands in the way.
    let cluster = Fixture.cluster(
      [Fixture.host("h1"), Fixture.host("h2"), Fixture.host("h3", memoryGiB: 8)],
      [
        Fixture.vm("db-1", on: "h1", memoryGiB: 16), Fixture.vm("db-2", on: "h2", memoryGiB: 16),
        Fixture.vm("filler", on: "h3", memoryGiB: 8),
      ])
    func policy(_ mode: RuleMode) -> Policy {
      Fixture.policy {
        $0.rules = [PlacementRule(name: "db-pair", kind: .antiAffinity, vms: ["db-1", "db-2"], mode: mode)]
      }
    }
    let refused = try DrainPlanner.plan(host: "h1", cluster: cluster, policy: policy(.must))
    #expect(refused.moves.isEmpty)
    let refusal = try #require(refused.refusal)
    #expect(refusal.hasSuffix("; db-1 could only go by breaking hard anti-affinity rule db-pair (h2)"), "\(refusal)")
    #expect(refused.rejected.contains { $0.vm == "db-1" && $0.host == "h2" && $0.check == .antiAffinity })
    #expect(refused.rejected.contains { $0.vm == "db-1" && $0.host == "h3" && $0.check == .capacity })
    // Soft, the same rule yields: the drain goes ahead and the move says what it goes against.
    let soft = try DrainPlanner.plan(host: "h1", cluster: cluster, policy: policy(.should))
    #expect(soft.refusal == nil)
    let move = try #require(soft.moves.first)
    #expect(move.to == "h2")
    #expect(move.reason.contains("; goes against soft anti-affinity rule db-pair"), "\(move.reason)")
  }

  @Test("A drain repairs the rules the drained host's VMs break: they land where the rules hold")
  func drainHonoursEveryRule() throws {
    let cluster = Fixture.cluster(
      [Fixture.host("h1"), Fixture.host("h2"), Fixture.host("h3")],
      [Fixture.vm("a", on: "h1"), Fixture.vm("b", on: "h1"), Fixture.vm("c", on: "h1")])
    let policy = Fixture.policy {
      $0.rules = [
        PlacementRule(name: "apart", kind: .antiAffinity, vms: ["a", "b"]),
        PlacementRule(name: "pin", kind: .vmHost, vms: ["c"], hosts: ["h3"], mode: .must),
      ]
    }
    let plan = try DrainPlanner.plan(host: "h1", cluster: cluster, policy: policy)
    #expect(plan.refusal == nil)
    let to = Dictionary(uniqueKeysWithValues: plan.moves.map { ($0.vm, $0.to) })
    #expect(to["a"] != to["b"])
    #expect(to["c"] == "h3")
  }

  @Test("liveIneligible: fail refuses a drain that needs a running VM moved cold")
  func failPolicy() throws {
    let cluster = Fixture.cluster(
      [Fixture.host("h1", stores: ["san", "h1-local"]), Fixture.host("h2")],
      [Fixture.vm("local", on: "h1", disks: [Disk(datastore: "h1-local", size: .gib(10))])])
    let plan = try DrainPlanner.plan(host: "h1", cluster: cluster, policy: Fixture.policy { $0.liveIneligible = .fail })
    let refusal = try #require(plan.refusal)
    #expect(refusal.contains("liveIneligible: fail"))
    #expect(plan.rejected.contains { $0.vm == "local" && $0.host == "h2" && $0.filter == "storage" })
    // Under cold it moves, shut down, with its outage predicted.
    let cold = try DrainPlanner.plan(host: "h1", cluster: cluster, policy: Policy())
    let move = try #require(cold.moves.first)
    #expect(move.kind == .cold && move.requiresShutdown && move.predicted.downtimeMs > 0)
    #expect(move.reason.contains("cold because local's disk is on h1-local"))
  }

  @Test("An affinity group moves together, to one host with room for all of it")
  func affinityGroup() throws {
    let cluster = Fixture.cluster(
      [Fixture.host("h1"), Fixture.host("h2", memoryGiB: 16), Fixture.host("h3")],
      [
        Fixture.vm("app", on: "h1", memoryGiB: 8), Fixture.vm("cache", on: "h1", memoryGiB: 8),
        Fixture.vm("resident", on: "h2", memoryGiB: 4),
      ])
    let policy = Fixture.policy {
      $0.rules = [PlacementRule(name: "together", kind: .affinity, vms: ["app", "cache"])]
    }
    let plan = try DrainPlanner.plan(host: "h1", cluster: cluster, policy: policy)
    #expect(plan.refusal == nil)
    #expect(plan.moves.map(\.to) == ["h3", "h3"])
  }

  @Test("When a balanced spread leaves a VM without room, a tight packing is used")
  func packingFallback() throws {
    // a has 16 GiB free, b 12 GiB: 12 + 8 + 8 only fits as b ← 12, a ← 8 + 8.
    let cluster = Fixture.cluster(
      [Fixture.host("d"), Fixture.host("a"), Fixture.host("b")],
      [
        Fixture.vm("v12", on: "d", memoryGiB: 12, cpu: 0.1), Fixture.vm("v8a", on: "d", memoryGiB: 8, cpu: 0.1),
        Fixture.vm("v8b", on: "d", memoryGiB: 8, cpu: 0.1),
        Fixture.vm("fill-a", on: "a", memoryGiB: 48, cpu: 0.1), Fixture.vm("fill-b", on: "b", memoryGiB: 52, cpu: 0.1),
      ])
    let plan = try DrainPlanner.plan(host: "d", cluster: cluster, policy: Policy())
    #expect(plan.refusal == nil)
    #expect(plan.moves.first { $0.vm == "v12" }?.to == "b")
    #expect(plan.notes.contains { $0.contains("packed") })
  }

  @Test("Past the detail limit, a VM still finds the one busy host it can reach without a shutdown or a copy")
  func shortlistFallsBackToCheapHosts() throws {
    // 100 idle hosts mount only `san`; "far" is busy but mounts `pod`, like the drained host.
    var hosts = (1...100).map { Fixture.host("idle-\($0)") }
    hosts.append(Fixture.host("far", stores: ["san", "pod"]))
    hosts.append(Fixture.host("src", stores: ["san", "pod"]))
    let cluster = Fixture.cluster(
      hosts,
      [
        Fixture.vm("busy", on: "far", vcpus: 8, memoryGiB: 40, cpu: 1),
        Fixture.vm("pod-vm", on: "src", disks: [Disk(datastore: "pod", size: .gib(100))]),
        Fixture.vm("pod-off", on: "src", state: .stopped, disks: [Disk(datastore: "pod", size: .gib(100))]),
        Fixture.vm("san-vm", on: "src"),
      ])
    let plan = try DrainPlanner.plan(host: "src", cluster: cluster, policy: Policy())
    let to = Dictionary(uniqueKeysWithValues: plan.moves.map { ($0.vm, $0) })
    #expect(to["pod-vm"]?.to == "far")
    #expect(to["pod-vm"]?.kind == .live)
    #expect(to["pod-off"]?.to == "far")
    #expect(to["pod-off"]?.disksToCopy == [])
    #expect(to["san-vm"]?.to.hasPrefix("idle-") == true)
    // The same choices as trying every host.
    var everyHost = DrainOptions()
    everyHost.detailedRejectionHostLimit = 1000
    let full = try DrainPlanner.plan(host: "src", cluster: cluster, policy: Policy(), options: everyHost)
    #expect(full.moves.map(\.to) == plan.moves.map(\.to))
  }

  @Test("An unknown host is an error that suggests the closest name")
  func unknownHost() {
    #expect(throws: PlannerError.unknownHost("h11", cluster: "test", suggestion: "h1")) {
      try DrainPlanner.plan(host: "h11", cluster: Self.cluster, policy: Policy())
    }
  }

  @Test("Draining an empty host plans nothing and says so")
  func emptyHost() throws {
    let plan = try DrainPlanner.plan(host: "h3", cluster: Self.cluster, policy: Policy())
    #expect(plan.moves.isEmpty && plan.refusal == nil)
    #expect(plan.notes.contains("h3 has no VMs: nothing to move"))
  }

  @Test("A host in a large cluster drains completely; same input, same plan")
  func largeCluster() throws {
    let cluster = Fixture.large(hosts: 400, vms: 8000, seed: 5)
    let plan = try DrainPlanner.plan(host: "host-7", cluster: cluster, policy: Policy())
    let onHost = cluster.vms.filter { $0.host == "host-7" }.map(\.name)
    #expect(plan.refusal == nil)
    #expect(Set(plan.moves.map(\.vm)) == Set(onHost))
    #expect(try DrainPlanner.plan(host: "host-7", cluster: cluster, policy: Policy()) == plan)
  }
}
