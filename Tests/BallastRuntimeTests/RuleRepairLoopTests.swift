import BallastEngine
import BallastModel
import Testing

@testable import BallastRuntime

@Suite("Balancing loop: broken rules")
struct RuleRepairLoopTests {
  /// Four hosts with two equal VMs each: imbalance 0.
  static func evenCluster() -> Cluster {
    var cluster = loopCluster(hotVMs: 8, cpu: 0.3)
    cluster.vms.removeLast()  // the quiet VM
    for i in cluster.vms.indices { cluster.vms[i].host = "h\(i / 2 + 1)" }
    return cluster
  }

  @Test func aRuleBrokenBetweenRoundsIsRepairedInTheNextRoundWhileTheImbalanceIsBelowTheThreshold() async throws {
    var harness = try LoopHarness(cluster: Self.evenCluster())
    let first = try await harness.round()
    guard case .balanced = first.decision else {
      Issue.record("expected a balanced round, got \(first.line)")
      return
    }
    // Between rounds the policy gains a rule vm1 and vm2 (both on h1) break.
    var policy = loopPolicy()
    policy.rules = [PlacementRule(name: "pair", kind: .antiAffinity, vms: ["vm1", "vm2"])]
    await harness.controller.reload(policy)
    let second = try await harness.round()
    #expect(second.imbalance <= policy.threshold)
    #expect(second.violations.map(\.label) == ["pair"])
    guard case .executed(let plan, let summary) = second.decision else {
      Issue.record("expected the repair to run, got \(second.line)")
      return
    }
    #expect(summary.done == 1)
    #expect(plan.repairMoves.count == 1)
    #expect(plan.moves.count == 1)
    #expect(second.line.contains("moved 1 of 1 VMs (1 repair move: pair)"), "\(second.line)")
    let placement = try await harness.placement()
    #expect(placement["vm1"] != placement["vm2"])
    let third = try await harness.round()
    #expect(third.violations.isEmpty)
    #expect(third.decision.moved == 0)
  }

  @Test func repairsDoNotWaitForTheHoldButBalancingStillDoes() async throws {
    // Six busy VMs on h1 (imbalance above the threshold from the first round); vm1 and vm2 must
    // be apart.
    var policy = loopPolicy()
    policy.rules = [PlacementRule(name: "pair", kind: .antiAffinity, vms: ["vm1", "vm2"])]
    var harness = try LoopHarness(policy: policy)
    let first = try await harness.round()  // t = 0: the hold starts, the repair does not wait
    #expect(first.imbalance > policy.threshold)
    guard case .executed(let plan, _) = first.decision, case .holding = first.heldBack else {
      Issue.record("expected the repair alone while holding, got \(first.line)")
      return
    }
    #expect(plan.moves.count == 1 && plan.repairMoves.count == 1, "only the repair, no balancing: \(plan.moves)")
    #expect(first.line.contains("balancing waits for the hold (10m more), repairing broken hard rules at once"))
    let second = try await harness.round()  // t = 5m: nothing broken, still holding
    guard case .holding = second.decision else {
      Issue.record("expected to hold, got \(second.line)")
      return
    }
    let third = try await harness.round()  // t = 10m: the hold, not reset by the repair, has lasted
    #expect(third.decision.moved > 0, "\(third.line)")
    let placement = try await harness.placement()
    #expect(placement["vm1"] != placement["vm2"])
  }

  @Test func aRuleNoMoveCanRepairIsReportedEveryRoundWithoutMoving() async throws {
    var policy = loopPolicy()
    policy.rules = [
      PlacementRule(name: "nowhere", kind: .vmHost, vms: ["vm1"], hosts: ["h1", "h2", "h3", "h4"], mode: .mustNot)
    ]
    var harness = try LoopHarness(cluster: Self.evenCluster(), policy: policy)
    let report = try await harness.round()
    guard case .nothingToDo(let plan) = report.decision else {
      Issue.record("expected no moves, got \(report.line)")
      return
    }
    #expect(plan.moves.isEmpty)
    let expected = ", 1 broken rule: planned no moves — cannot repair rule nowhere keeps vm1 off h1, h2, h3 and h4"
    #expect(report.line.contains(expected), "\(report.line)")
  }
}
