import BallastModel
import Testing

@testable import BallastPlanner

/// Two equal hosts; h1 holds `a` and `b`, h2 holds `x` (the size of both): imbalance 0, and
/// moving `b` to h2 adds 0.0625 of imbalance.
private let twoHosts = Fixture.cluster(
  [Fixture.host("h1"), Fixture.host("h2")],
  [Fixture.vm("a", on: "h1"), Fixture.vm("b", on: "h1"), Fixture.vm("x", on: "h2", vcpus: 4, memoryGiB: 8)])

/// Soft rules `b` breaks on h1 and keeps on h2.
private let softRules: [PlacementRule] = [
  PlacementRule(name: "apart", kind: .antiAffinity, vms: ["a", "b"], mode: .should),
  PlacementRule(name: "prefer-h2", kind: .vmHost, vms: ["b"], hosts: ["h2"], mode: .should),
  PlacementRule(name: "avoid-h1", kind: .vmHost, vms: ["b"], hosts: ["h1"], mode: .shouldNot),
  PlacementRule(name: "with-x", kind: .affinity, vms: ["b", "x"], mode: .should),
]

@Suite("Soft rules")
struct SoftRuleTests {
  /// The VM whose move to h2 satisfies `rule` most cheaply: `a` and `b` tie for anti-affinity
  /// (by name, `a`); `b` for the others.
  func mover(_ rule: PlacementRule) -> String { rule.kind == .antiAffinity ? "a" : "b" }

  @Test(
    "A soft rule is satisfied when that adds at most repair.softWeight of imbalance, and the plan shows the trade",
    arguments: softRules, [0.01, 0.1])
  func softRepairWithinTheWeight(rule: PlacementRule, softWeight: Double) throws {
    let policy = Fixture.policy {
      $0.rules = [rule]
      $0.repair.softWeight = softWeight
    }
    let violation = try #require(RuleViolations.find(in: twoHosts, policy: policy).first)
    #expect(!violation.hard)
    let plan = try BalancePlanner.plan(cluster: twoHosts, policy: policy)
    if softWeight >= 0.0625 {
      let move = try #require(plan.moves.first)
      #expect(plan.moves.count == 1)
      #expect(move.vm == mover(rule))
      #expect(move.to == "h2")
      #expect(move.repairs == [violation])
      #expect(
        move.reason.hasPrefix(
          "satisfies \(violation.sentence): imbalance 0.000 → 0.063 (+0.063, within the policy's repair.softWeight "
            + "of 0.100 per soft rule)"), "\(move.reason)")
      #expect(plan.violationsAfter == [])
    } else {
      #expect(plan.moves.isEmpty)
      #expect(plan.violationsAfter == [violation])
      #expect(
        plan.notes.contains(
          "soft rule left broken: \(violation.sentence) — the cheapest fix, moving \(mover(rule)) "
            + "to h2, adds 0.063 imbalance; the policy's repair.softWeight allows 0.010 per soft rule"),
        "\(plan.notes)")
    }
  }

  @Test("Soft rules never shut a VM down, and never block a move the hard rules allow")
  func softRulesAreSoft() throws {
    let cluster = Fixture.cluster(
      [Fixture.host("h1"), Fixture.host("old", cpu: "Broadwell")], [Fixture.vm("a", on: "h1")])
    let policy = Fixture.policy {
      $0.rules = [PlacementRule(name: "old-first", kind: .vmHost, vms: ["a"], hosts: ["old"], mode: .should)]
      $0.repair.softWeight = 1
    }
    let plan = try BalancePlanner.plan(cluster: cluster, policy: policy)
    #expect(plan.moves.isEmpty)
    #expect(
      plan.notes.contains {
        $0.hasSuffix("the best fix, moving a to old, would shut it down")
      }, "\(plan.notes)")
    // A soft anti-affinity rule does not keep a VM off a host.
    let apart = Fixture.policy {
      $0.rules = [PlacementRule(name: "apart", kind: .antiAffinity, vms: ["a", "b"], mode: .should)]
    }
    let state = PlacementState(cluster: twoHosts, policy: apart)
    #expect(AntiAffinityFilter().admits(MoveRequest(vm: 1, destination: 1), in: state))
  }

  @Test("Balancing breaks a soft rule only for more gain than it is worth, and says so")
  func balancingWeighsSoftRules() throws {
    // h1: a, y1, y2 (y1 and y2 cooling down), h2: b. Only a can move; it joins b, its soft partner.
    let cluster = Fixture.cluster(
      [Fixture.host("h1"), Fixture.host("h2")],
      [Fixture.vm("a", on: "h1"), Fixture.vm("y1", on: "h1"), Fixture.vm("y2", on: "h1"), Fixture.vm("b", on: "h2")])
    let history = MoveHistory(
      lastMove: ["y1": .init(at: 0, from: "h2"), "y2": .init(at: 0, from: "h2")], now: 60)
    func plan(softWeight: Double) throws -> MigrationPlan {
      let policy = Fixture.policy {
        $0.rules = [PlacementRule(name: "apart", kind: .antiAffinity, vms: ["a", "b"], mode: .should)]
        $0.repair.softWeight = softWeight
      }
      return try BalancePlanner.plan(cluster: cluster, policy: policy, history: history)
    }
    // Moving a evens the hosts out: gain 0.0625.
    #expect(try plan(softWeight: 0.1).moves.isEmpty)
    let cheap = try plan(softWeight: 0.01)
    let move = try #require(cheap.moves.first)
    #expect(move.vm == "a")
    #expect(
      move.reason.contains(
        "; goes against soft anti-affinity rule apart (worth 0.010 of imbalance under repair.softWeight; the move removes 0.063)"
      ),
      "\(move.reason)")
    #expect(move.score.contains { $0.name == "soft-affinity" && $0.value == -1 })
  }

  @Test("--explain shows a soft rule's trade for the VM")
  func explainShowsTheTrade() throws {
    let policy = Fixture.policy { $0.rules = [softRules[0]] }
    let explanation = try PlacementExplainer.explain(vm: "b", cluster: twoHosts, policy: policy)
    #expect(
      explanation.notes.contains(
        "soft: soft anti-affinity rule apart: a and b share h1; moving it to h2 would satisfy it for +0.063 "
          + "imbalance, and repair.softWeight allows 0.010: a round leaves it"), "\(explanation.notes)")
    #expect(explanation.candidates.first { $0.host == "h2" }?.score.contains { $0.name == "soft-affinity" } == true)
  }

  @Test("Policies without soft affinity rules score as they always did")
  func profilesUnchangedWithoutSoftAffinity() {
    #expect(
      ScoringProfile.balance.addingSoftAffinity(for: Policy()).scorers.map(\.name)
        == ScoringProfile.balance.scorers.map(\.name))
    let soft = Fixture.policy { $0.rules = [softRules[0]] }
    #expect(
      ScoringProfile.balance.addingSoftAffinity(for: soft).scorers.map(\.name)
        == ["balance-per-cost", "vm-host-preference", "soft-affinity", "headroom"])
  }
}
