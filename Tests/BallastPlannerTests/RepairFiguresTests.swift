import BallastModel
import Testing

@testable import BallastPlanner

/// Generated heterogeneous clusters (four CPU generations, storage pods, local disks, skewed
/// load) that break rules and are short of memory: the rules broken before and after one
/// plan, and the imbalance reached with and without the repair step. Prints the figures (the
/// closing note of the rules issue quotes them); asserts only what must hold.
@Suite("Repair on generated heterogeneous clusters", .serialized)
struct RepairFiguresTests {
  @Test(arguments: [(64, 1200, UInt64(1)), (64, 1200, UInt64(2)), (128, 2500, UInt64(3))])
  func rulesBrokenBeforeAndAfter(hosts: Int, vms: Int, seed: UInt64) throws {
    let cluster = Fixture.withBrokenRules(Fixture.large(hosts: hosts, vms: vms, seed: seed), seed: seed)
    let policy = Fixture.policy {
      $0.rules = cluster.rules
      $0.repair.maxMoves = 500
    }
    let before = RuleViolations.find(in: cluster, policy: policy)
    let clock = ContinuousClock()
    var repaired = try BalancePlanner.plan(cluster: cluster, policy: policy)
    let elapsed = try clock.measure { repaired = try BalancePlanner.plan(cluster: cluster, policy: policy) }
    var alone = BalanceOptions()
    alone.repairs = false
    var balanced = try BalancePlanner.plan(cluster: cluster, policy: policy, options: alone)
    let balanceElapsed = try clock.measure {
      balanced = try BalancePlanner.plan(cluster: cluster, policy: policy, options: alone)
    }
    let after = repaired.violationsAfter ?? []
    var balancedCluster = cluster
    for move in balanced.moves {
      if let i = balancedCluster.vms.firstIndex(where: { $0.name == move.vm }) { balancedCluster.vms[i].host = move.to }
    }
    let afterBalanceOnly = RuleViolations.find(in: balancedCluster, policy: policy)
    func split(_ list: [RuleViolation]) -> String {
      "\(list.filter(\.hard).count) hard + \(list.filter { !$0.hard }.count) soft"
    }
    print(
      "repair figures \(hosts)x\(vms) seed \(seed): broken before \(split(before)); after repair+balance "
        + "\(split(after)) (\(repaired.repairMoves.count) repair + \(repaired.moves.count - repaired.repairMoves.count) "
        + "balance moves, imbalance \(Wording.imbalance(repaired.before.imbalance)) → "
        + "\(Wording.imbalance(repaired.after.imbalance)), planned in \(elapsed)); balance alone: \(split(afterBalanceOnly)) "
        + "(\(balanced.moves.count) moves, imbalance → \(Wording.imbalance(balanced.after.imbalance)), planned in "
        + "\(balanceElapsed))")
    #expect(before.contains { $0.hard })
    #expect(after.filter(\.hard).count < before.filter(\.hard).count)
    #expect(after.filter(\.hard).count <= afterBalanceOnly.filter(\.hard).count)
    // Every hard rule left broken is explained.
    for violation in after where violation.hard {
      #expect(
        repaired.notes.contains { $0.hasPrefix("cannot repair \(violation.sentence)") }
          || repaired.notes.contains { $0.contains("wait") }, "\(violation.sentence)")
    }
  }
}
