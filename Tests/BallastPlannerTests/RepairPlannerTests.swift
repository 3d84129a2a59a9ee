import BallastModel
import Testing

@testable import BallastPlanner

/// A cluster that breaks one kind of rule, and what repairing it takes.
struct RepairCase: CustomTestStringConvertible, Sendable {
  var name: String
  var cluster: Cluster
  var rules: [PlacementRule]
  /// The fewest moves that end the violation.
  var fewestMoves: Int
  /// The kind of violation.
  var kind: RuleViolation.Kind
  var testDescription: String { name }

  /// A policy that never balances (threshold 1), so every move is a repair.
  var policy: Policy { repairsOnly(rules) }
}

/// A policy with `rules` that never balances (threshold 1): every move of its plans is a repair.
func repairsOnly(_ rules: [PlacementRule], _ change: (inout Policy) -> Void = { _ in }) -> Policy {
  Fixture.policy {
    $0.threshold = 1
    $0.rules = rules
    change(&$0)
  }
}

/// Four equal hosts h1…h4 on shared storage.
private func hosts(_ count: Int = 4, memoryGiB: Double = 64) -> [Host] {
  (1...count).map { Fixture.host("h\($0)", memoryGiB: memoryGiB) }
}

let repairCases: [RepairCase] = [
  RepairCase(
    name: "anti-affinity: three members on one host",
    cluster: Fixture.cluster(hosts(), ["a", "b", "c"].map { Fixture.vm($0, on: "h1") }),
    rules: [PlacementRule(name: "apart", kind: .antiAffinity, vms: ["a", "b", "c"])], fewestMoves: 2,
    kind: .antiAffinity),
  RepairCase(
    name: "affinity: one member away from the other two",
    cluster: Fixture.cluster(
      hosts(), [Fixture.vm("a", on: "h1"), Fixture.vm("b", on: "h1"), Fixture.vm("c", on: "h2")]),
    rules: [PlacementRule(name: "together", kind: .affinity, vms: ["a", "b", "c"])], fewestMoves: 1, kind: .affinity),
  RepairCase(
    name: "vm-host must: off its hosts", cluster: Fixture.cluster(hosts(), [Fixture.vm("a", on: "h1")]),
    rules: [PlacementRule(name: "pin", kind: .vmHost, vms: ["a"], hosts: ["h3"], mode: .must)], fewestMoves: 1,
    kind: .vmHost),
  RepairCase(
    name: "vm-host mustNot: on a forbidden host", cluster: Fixture.cluster(hosts(), [Fixture.vm("a", on: "h1")]),
    rules: [PlacementRule(name: "avoid", kind: .vmHost, vms: ["a"], hosts: ["h1", "h2"], mode: .mustNot)],
    fewestMoves: 1, kind: .vmHost),
  RepairCase(
    name: "capacity: 80 GiB on a 64 GiB host needs two of its 8 GiB VMs out",
    cluster: Fixture.cluster(hosts(), (1...10).map { Fixture.vm("vm\($0)", on: "h1", memoryGiB: 8) }), rules: [],
    fewestMoves: 2, kind: .capacity),
  RepairCase(
    name: "capacity: one large VM covers the excess",
    cluster: Fixture.cluster(
      hosts(),
      [8, 8, 8, 16, 32].enumerated().map { Fixture.vm("vm\($0.offset + 1)", on: "h1", memoryGiB: Double($0.element)) }),
    rules: [], fewestMoves: 1, kind: .capacity),
  RepairCase(
    name: "cpu: an Icelake VM on a Cascadelake host",
    cluster: Fixture.cluster(
      hosts(3) + [Fixture.host("h4", cpu: "Icelake-Server")], [Fixture.vm("new", on: "h1", model: "Icelake-Server")]),
    rules: [], fewestMoves: 1, kind: .cpu),
]

@Suite("Repairing broken rules")
struct RepairPlannerTests {
  @Test(
    "Each kind of violation is repaired with the fewest moves, each saying which rule it repairs",
    arguments: repairCases)
  func repairsWithTheFewestMoves(_ repair: RepairCase) throws {
    let before = RuleViolations.find(in: repair.cluster, policy: repair.policy)
    #expect(before.map(\.kind) == [repair.kind])
    let plan = try BalancePlanner.plan(cluster: repair.cluster, policy: repair.policy)
    #expect(plan.refusal == nil)
    #expect(plan.moves.count == repair.fewestMoves, "\(plan.moves.map { "\($0.vm) → \($0.to)" })")
    #expect(plan.violationsBefore == before)
    #expect(plan.violationsAfter == [])
    for move in plan.moves {
      #expect(move.repairs?.map(\.kind).contains(repair.kind) == true)
      #expect(
        move.reason.hasPrefix("repairs \(before[0].sentence)")
          || move.reason.hasPrefix("helps repair \(before[0].sentence)"), "\(move.reason)")
      #expect(move.kind == .live, "a live move exists for every case: \(move.reason)")
    }
    // The last move ends it; those before help.
    #expect(plan.moves.filter { $0.reason.hasPrefix("repairs ") }.count == 1)
    let moves = repair.fewestMoves == 1 ? "1 move repairs" : "\(repair.fewestMoves) moves repair"
    #expect(plan.notes.first == "rules first: \(moves) 1 of 1 broken hard rule")
    // The plan's cluster afterwards keeps the rule.
    var after = repair.cluster
    for move in plan.moves {
      after.vms[try #require(after.vms.firstIndex { $0.name == move.vm })].host = move.to
    }
    #expect(RuleViolations.find(in: after, policy: repair.policy).isEmpty)
  }

  /// Every case made unrepairable: the hosts that could take the VMs refuse them.
  static let unrepairable: [(RepairCase, MoveCheck)] = [
    (
      RepairCase(
        name: "anti-affinity: every other host holds a member",
        cluster: Fixture.cluster(
          hosts(3),
          [Fixture.vm("a", on: "h1"), Fixture.vm("b", on: "h1"), Fixture.vm("c", on: "h2"), Fixture.vm("d", on: "h3")]),
        rules: [PlacementRule(name: "apart", kind: .antiAffinity, vms: ["a", "b", "c", "d"])], fewestMoves: 0,
        kind: .antiAffinity), .antiAffinity
    ),
    (
      RepairCase(
        name: "vm-host must: its only host is in maintenance",
        cluster: Fixture.cluster(
          hosts(3) + [Fixture.host("h4", state: .maintenance)], [Fixture.vm("a", on: "h1")]),
        rules: [PlacementRule(name: "pin", kind: .vmHost, vms: ["a"], hosts: ["h4"], mode: .must)], fewestMoves: 0,
        kind: .vmHost), .vmHost
    ),
    (
      RepairCase(
        name: "capacity: every other host is full",
        cluster: Fixture.cluster(
          hosts(3),
          (1...9).map { Fixture.vm("a\($0)", on: "h1", memoryGiB: 8) }
            + (1...8).map {
              Fixture.vm("b\($0)", on: "h2", memoryGiB: 8)
            } + (1...8).map { Fixture.vm("c\($0)", on: "h3", memoryGiB: 8) }), rules: [], fewestMoves: 0,
        kind: .capacity), .capacity
    ),
    (
      RepairCase(
        name: "cpu: the only host that runs it is full, the others too",
        cluster: Fixture.cluster(
          [Fixture.host("h1"), Fixture.host("h2", memoryGiB: 8)],
          [
            Fixture.vm("new", on: "h1", memoryGiB: 8, model: "Icelake-Server"),
            Fixture.vm("full", on: "h2", memoryGiB: 8),
          ]),
        rules: [], fewestMoves: 0, kind: .cpu), .capacity
    ),
    (
      RepairCase(
        name: "affinity: the hosts holding members are full",
        cluster: Fixture.cluster(
          [Fixture.host("h1", memoryGiB: 16), Fixture.host("h2", memoryGiB: 16), Fixture.host("h3", memoryGiB: 4)],
          [
            Fixture.vm("a", on: "h1", memoryGiB: 8), Fixture.vm("x", on: "h1", memoryGiB: 8),
            Fixture.vm("b", on: "h2", memoryGiB: 8), Fixture.vm("y", on: "h2", memoryGiB: 8),
          ]), rules: [PlacementRule(name: "together", kind: .affinity, vms: ["a", "b"])], fewestMoves: 0,
        kind: .affinity), .capacity
    ),
  ]

  @Test("A violation no move can end is reported with every candidate host's reason", arguments: unrepairable)
  func unrepairableIsExplained(_ repair: RepairCase, check: MoveCheck) throws {
    let plan = try BalancePlanner.plan(cluster: repair.cluster, policy: repair.policy)
    let violation = try #require(plan.violationsBefore?.first)
    #expect(violation.kind == repair.kind)
    #expect(plan.moves.isEmpty)
    #expect(plan.violationsAfter == plan.violationsBefore)
    #expect(plan.notes.contains { $0.hasPrefix("cannot repair \(violation.sentence) — ") }, "\(plan.notes)")
    let summaries = plan.rejected.filter { $0.host == nil }
    #expect(!summaries.isEmpty)
    for summary in summaries {
      #expect(summary.reason.hasPrefix("cannot repair \(violation.sentence): "), "\(summary.reason)")
      // Every other active host of each VM that could end it says why it refuses.
      let state = PlacementState(cluster: repair.cluster, policy: repair.policy)
      let source = try #require(repair.cluster.vm(named: summary.vm)?.host)
      let others = state.activeHosts.map { state.host($0).name }.filter { $0 != source }
      let perHost = plan.rejected.filter { $0.vm == summary.vm && $0.host != nil }
      #expect(Set(perHost.compactMap(\.host)) == Set(others))
      #expect(perHost.allSatisfy { $0.check == check }, "\(perHost.map(\.reason))")
    }
  }

  @Test("One move ending two violations is preferred to two moves")
  func oneMoveForTwoRules() throws {
    let cluster = Fixture.cluster(hosts(), [Fixture.vm("a", on: "h1"), Fixture.vm("b", on: "h1")])
    let policy = repairsOnly([
      PlacementRule(name: "apart", kind: .antiAffinity, vms: ["a", "b"]),
      PlacementRule(name: "not-h1", kind: .vmHost, vms: ["b"], hosts: ["h1"], mode: .mustNot),
    ])
    let plan = try BalancePlanner.plan(cluster: cluster, policy: policy)
    #expect(plan.moves.map(\.vm) == ["b"])
    #expect(Set(plan.moves.first?.repairs?.compactMap(\.rule) ?? []) == ["apart", "not-h1"])
    #expect(plan.violationsAfter == [])
  }

  @Test("A VM bound by hard affinity moves with its group to repair its own rule")
  func groupsMoveTogether() throws {
    let cluster = Fixture.cluster(hosts(), [Fixture.vm("app", on: "h1"), Fixture.vm("cache", on: "h1")])
    let policy = repairsOnly([
      PlacementRule(name: "together", kind: .affinity, vms: ["app", "cache"]),
      PlacementRule(name: "pin", kind: .vmHost, vms: ["app"], hosts: ["h3"], mode: .must),
    ])
    let plan = try BalancePlanner.plan(cluster: cluster, policy: policy)
    #expect(Set(plan.moves.map(\.vm)) == ["app", "cache"])
    #expect(plan.moves.allSatisfy { $0.to == "h3" })
    #expect(plan.moves.first { $0.vm == "cache" }?.reason.hasPrefix("goes with app (hard affinity") == true)
    #expect(plan.violationsAfter == [])
  }

  @Test("Repairs count towards maxMovesPerRound; what is left waits for the next round")
  func repairsShareTheRoundsBudget() throws {
    let cluster = Fixture.cluster(hosts(), (1...3).map { Fixture.vm("v\($0)", on: "h1") })
    let pinned = (1...3).map {
      PlacementRule(name: "pin-\($0)", kind: .vmHost, vms: ["v\($0)"], hosts: ["h\($0 + 1)"], mode: .must)
    }
    let shared = repairsOnly(pinned) { $0.maxMovesPerRound = 2 }
    let plan = try BalancePlanner.plan(cluster: cluster, policy: shared)
    #expect(plan.moves.count == 2)
    #expect(plan.violationsAfter?.count == 1)
    #expect(
      plan.notes.contains {
        $0.contains("waits for the next round: this round's 2 repair moves are used (policy maxMovesPerRound)")
      }, "\(plan.notes)")
    var own = shared
    own.repair.maxMoves = 3
    #expect(try BalancePlanner.plan(cluster: cluster, policy: own).moves.count == 3)
  }

  @Test("Balancing uses the moves the repairs leave, from where they leave the cluster")
  func balanceAfterRepairs() throws {
    // Six busy VMs on h1, two of them an anti-affinity pair: one repair, then balancing.
    let cluster = Fixture.cluster(hosts(), (1...6).map { Fixture.vm("v\($0)", on: "h1", vcpus: 4, cpu: 0.8) })
    let policy = Fixture.policy {
      $0.maxMovesPerRound = 4
      $0.rules = [PlacementRule(name: "apart", kind: .antiAffinity, vms: ["v1", "v2"])]
    }
    let plan = try BalancePlanner.plan(cluster: cluster, policy: policy)
    #expect(plan.moves.count == 4)
    #expect(plan.repairMoves.count == 1)
    #expect(plan.moves.filter { $0.repairs == nil }.allSatisfy { $0.reason.hasPrefix("step ") })
    #expect(plan.after.imbalance < plan.before.imbalance)
    #expect(plan.violationsAfter == [])
    #expect(Set(plan.moves.map(\.vm)).count == 4, "a VM moves at most once per plan")
  }

  @Test("A VM inside its cooldown stays put: the other member of the pair moves instead")
  func cooldownsApply() throws {
    let cluster = Fixture.cluster(hosts(), [Fixture.vm("a", on: "h1"), Fixture.vm("b", on: "h1")])
    let policy = repairsOnly([PlacementRule(name: "apart", kind: .antiAffinity, vms: ["a", "b"])])
    let history = MoveHistory(lastMove: ["a": .init(at: 900, from: "h2")], now: 1000)
    let plan = try BalancePlanner.plan(cluster: cluster, policy: policy, history: history)
    #expect(plan.moves.map(\.vm) == ["b"])
    let both = MoveHistory(
      lastMove: ["a": .init(at: 900, from: "h2"), "b": .init(at: 950, from: "h3")], now: 1000)
    let stuck = try BalancePlanner.plan(cluster: cluster, policy: policy, history: both)
    #expect(stuck.moves.isEmpty)
    #expect(stuck.rejected.contains { $0.vm == "a" && $0.reason.contains("cooldown") })
  }

  @Test("Hard repairs only: no soft repair and no balancing")
  func hardRepairsOnly() throws {
    let cluster = Fixture.cluster(
      hosts(), (1...6).map { Fixture.vm("v\($0)", on: "h1", vcpus: 4, cpu: 0.8, labels: ["app": "web"]) })
    let policy = Fixture.policy {
      $0.rules = [
        PlacementRule(name: "apart", kind: .antiAffinity, vms: ["v1", "v2"]),
        PlacementRule(name: "spread", kind: .antiAffinity, vms: ["v3", "v4"], mode: .should),
      ]
    }
    var options = BalanceOptions()
    options.scope = .hardRepairsOnly
    let plan = try BalancePlanner.plan(cluster: cluster, policy: policy, options: options)
    #expect(plan.moves.count == 1)
    #expect(plan.moves.first?.repairs?.first?.rule == "apart")
    #expect(plan.violationsAfter?.map(\.label) == ["spread"])
  }

  @Test("A repair moving an off VM cold says so; nothing is shut down when a live move repairs it")
  func repairsPreferMovesWithoutShutdown() throws {
    // a can go live to h2 (compatible) or only cold to h3 (an older CPU); both end the rule.
    let cluster = Fixture.cluster(
      [Fixture.host("h1"), Fixture.host("h2", memoryGiB: 32), Fixture.host("h3", cpu: "Broadwell")],
      [Fixture.vm("a", on: "h1"), Fixture.vm("b", on: "h2", memoryGiB: 20)])
    let policy = repairsOnly([PlacementRule(name: "off-h1", kind: .vmHost, vms: ["a"], hosts: ["h1"], mode: .mustNot)])
    let plan = try BalancePlanner.plan(cluster: cluster, policy: policy)
    #expect(plan.moves.map(\.to) == ["h2"])
    #expect(plan.moves.first?.kind == .live)
  }
}
