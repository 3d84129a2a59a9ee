/// Finds every rule a cluster breaks as it stands, under a policy: the one list `validate`
/// warns about, `status` shows and plans report before and after.
///
/// Pure: reads the cluster's placement (every host, whatever its state) and the policy's rules
/// (with the cluster file's own rules already added, as ``Policy/rules`` holds them once
/// loaded), and uses the checks moves pass (``CapacityCheck``, ``CPUCheck``, the rules'
/// membership) so a violation is exactly what those checks keep a move from causing.
public enum RuleViolations {
  /// Every violation in `cluster` under `policy`: hard ones first, then soft; within each, the
  /// rules in policy order, then hosts over capacity, then VMs on a CPU they cannot run on.
  public static func find(in cluster: Cluster, policy: Policy) -> [RuleViolation] {
    let index = ClusterIndex(cluster)
    var found: [RuleViolation] = []
    for rule in policy.rules {
      let members = cluster.vms.filter { rule.applies(to: $0) && index.hostPosition[$0.host] != nil }
      switch rule.kind {
      case .antiAffinity: found += antiAffinity(rule, members: members)
      case .affinity: found += affinity(rule, members: members)
      case .vmHost: found += vmHost(rule, members: members)
      }
    }
    found += capacity(cluster, index: index, overcommit: policy.overcommit)
    found += cpu(cluster, index: index)
    return found.filter(\.hard) + found.filter { !$0.hard }
  }

  private static func ruleTitle(_ rule: PlacementRule) -> String {
    let kind = rule.kind == .antiAffinity ? "anti-affinity" : "affinity"
    return "\(rule.isHard ? "" : "soft ")\(kind) rule \(rule.name)"
  }

  /// One violation per host holding two or more members.
  private static func antiAffinity(_ rule: PlacementRule, members: [VM]) -> [RuleViolation] {
    Dictionary(grouping: members, by: \.host).filter { $0.value.count > 1 }.sorted { $0.key < $1.key }.map {
      host, vms in
      let names = vms.map(\.name).sorted()
      return RuleViolation(
        kind: .antiAffinity, rule: rule.name, mode: rule.mode, hard: rule.isHard, vms: names, hosts: [host],
        sentence: "\(ruleTitle(rule)): \(Wording.list(names)) share \(host)")
    }
  }

  /// One violation when the members are on more than one host.
  private static func affinity(_ rule: PlacementRule, members: [VM]) -> [RuleViolation] {
    let byHost = Dictionary(grouping: members, by: \.host)
    guard byHost.count > 1 else { return [] }
    let groups = byHost.sorted { $0.key < $1.key }.map { host, vms in
      "\(Wording.list(vms.map(\.name).sorted())) on \(host)"
    }
    return [
      RuleViolation(
        kind: .affinity, rule: rule.name, mode: rule.mode, hard: rule.isHard, vms: members.map(\.name).sorted(),
        hosts: byHost.keys.sorted(),
        sentence: "\(ruleTitle(rule)): \(groups.joined(separator: "; ")) (they belong on one host)")
    ]
  }

  /// One violation per member on the wrong side of the rule's hosts.
  private static func vmHost(_ rule: PlacementRule, members: [VM]) -> [RuleViolation] {
    let listed = Set(rule.hosts)
    let hosts = Wording.list(rule.hosts.sorted())
    return members.sorted { $0.name < $1.name }.compactMap { vm in
      let on = listed.contains(vm.host)
      let wanted = rule.mode == .must || rule.mode == .should
      guard on != wanted else { return nil }
      let verb = rule.isHard ? "keeps" : "prefers"
      let side = wanted ? "on" : "off"
      return RuleViolation(
        kind: .vmHost, rule: rule.name, mode: rule.mode, hard: rule.isHard, vms: [vm.name], hosts: [vm.host],
        sentence: "rule \(rule.name) \(verb) \(vm.name) \(side) \(hosts); it is on \(vm.host)")
    }
  }

  /// One violation per host whose running VMs exceed its allocation limits.
  private static func capacity(_ cluster: Cluster, index: ClusterIndex, overcommit: Overcommit) -> [RuleViolation] {
    let loads = cluster.hostLoads(index: index)
    return cluster.hosts.indices.compactMap { h in
      let host = cluster.hosts[h]
      let excess = CapacityCheck.excess(
        hostMemory: host.memory.double, hostCores: Double(host.cores), allocatedMemory: loads[h].memoryDemand,
        allocatedVCPUs: loads[h].vcpus, overcommit: overcommit)
      guard excess.isOver else { return nil }
      let running = index.vmsOnHost[h].filter { cluster.vms[$0].state.isRunning }.map { cluster.vms[$0].name }
      return RuleViolation(
        kind: .capacity, rule: nil, mode: nil, hard: true, vms: running.sorted(), hosts: [host.name],
        sentence: CapacityCheck.sentence(excess, host: host, overcommit: overcommit))
    }
  }

  /// One violation per running VM whose host lacks CPU features it was started with.
  private static func cpu(_ cluster: Cluster, index: ClusterIndex) -> [RuleViolation] {
    cluster.vms.compactMap { vm in
      guard vm.state.isRunning, let h = index.hostPosition[vm.host] else { return nil }
      let host = cluster.hosts[h]
      let missing = CPUCheck.unrunnableFeatures(vm, on: host)
      guard !missing.isEmpty else { return nil }
      return RuleViolation(
        kind: .cpu, rule: nil, mode: nil, hard: true, vms: [vm.name], hosts: [host.name],
        sentence: CPUCheck.sentence(
          vm: vm.name, vmModel: vm.cpuModel, host: host.name, hostModel: host.cpuModel, missing: missing)
          + ": it could not start there again")
    }
  }
}
