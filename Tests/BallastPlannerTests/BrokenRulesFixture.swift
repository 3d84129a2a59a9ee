import BallastModel
import BallastTestSupport

extension PlannerFixture {
  /// `cluster` with rules that it partly breaks and tight memory, as a discovered
  /// heterogeneous cluster might: anti-affinity pairs (half of them on one host), affinity
  /// pairs (half split), VMs that must stay in their pod's first hosts or off the oldest CPU
  /// generation, soft spreads and preferences, and one host in ten with memory cut below what
  /// its running VMs are allocated.
  static func withBrokenRules(_ cluster: Cluster, seed: UInt64) -> Cluster {
    var random = SeededRandom(seed: seed)
    var cluster = cluster
    var rules: [PlacementRule] = []
    let running = cluster.vms.indices.filter { cluster.vms[$0].state.isRunning }.shuffled(using: &random)
    let pairs = max(2, running.count / 40)
    for p in 0..<pairs {
      let a = running[2 * p]
      let b = running[2 * p + 1]
      let kind: RuleKind = p % 2 == 0 ? .antiAffinity : .affinity
      let mode: RuleMode = p % 5 == 4 ? .should : .must
      let broken = p % 4 < 2
      if kind == .antiAffinity, broken { cluster.vms[b].host = cluster.vms[a].host }
      if kind == .affinity, !broken { cluster.vms[b].host = cluster.vms[a].host }
      rules.append(
        PlacementRule(
          name: "pair-\(p)", kind: kind, vms: [cluster.vms[a].name, cluster.vms[b].name], mode: mode))
    }
    let oldest = cluster.hosts.filter { $0.cpuModel == cluster.hosts[0].cpuModel }.map(\.name)
    let pinned = running.dropFirst(2 * pairs).prefix(pairs / 2).map { cluster.vms[$0].name }
    rules.append(PlacementRule(name: "off-oldest", kind: .vmHost, vms: pinned, hosts: oldest, mode: .mustNot))
    let preferred = running.dropFirst(2 * pairs + pairs / 2).prefix(pairs / 2).map { cluster.vms[$0].name }
    rules.append(
      PlacementRule(
        name: "prefer-first", kind: .vmHost, vms: preferred, hosts: Array(cluster.hosts.prefix(8).map(\.name)),
        mode: .should))
    cluster.rules = rules
    var allocated: [String: Double] = [:]
    for vm in cluster.vms where vm.state.isRunning { allocated[vm.host, default: 0] += vm.memory.double }
    for h in cluster.hosts.indices where h % 10 == 3 {
      let used = allocated[cluster.hosts[h].name] ?? 0
      if used > 0 { cluster.hosts[h].memory = .gib((used * 0.9 / 1_073_741_824).rounded(.down)) }
    }
    return cluster
  }
}
