/// Reading and checking policy files (`policies/*.yaml`).
public enum PolicyFile {
  /// Loads and validates the policy at `path`; throws ``FileErrors`` listing every problem.
  /// With `cluster`, rules are checked against its VMs and hosts.
  public static func load(path: String, cluster: Cluster? = nil) throws -> Policy {
    try parse(ClusterFile.readText(path), file: path, cluster: cluster)
  }

  /// Parses and validates policy YAML `text` (named `file` in errors).
  public static func parse(_ text: String, file: String, cluster: Cluster? = nil) throws -> Policy {
    let diagnostics = YAMLDiagnostics(file: file)
    guard let root = diagnostics.compose(text) else {
      if diagnostics.issues.isEmpty { return Policy() }  // an empty policy means every default
      throw FileErrors(diagnostics.issues)
    }
    let reader = PolicyReader()
    let policy = reader.read(YAMLValue(node: root, path: "", diagnostics: diagnostics))
    var issues = diagnostics.issues
    if let cluster {
      issues += checkRules(
        policy.rules, positions: reader.rulePositions, against: cluster, sourceMap: diagnostics.sourceMap)
    }
    guard issues.isEmpty else { throw FileErrors(issues.sorted(by: FileIssue.inFileOrder)) }
    return policy
  }

  /// Problems with `rules` that only show against a cluster: unknown VMs and hosts.
  public static func checkRules(
    _ rules: [PlacementRule], against cluster: Cluster, sourceMap: SourceMap
  )
    -> [FileIssue]
  {
    checkRules(rules, positions: Array(rules.indices), against: cluster, sourceMap: sourceMap)
  }

  /// `checkRules` for rules read at `positions` of the file's list, from a cluster whose
  /// unread VMs and hosts (left out for errors of their own) are not reported again.
  static func checkRules(
    _ rules: [PlacementRule], positions: [Int], against cluster: Cluster, sourceMap: SourceMap,
    unreadVMs: ClusterValidator.Origins.Entries = .init(), unreadHosts: ClusterValidator.Origins.Entries = .init()
  ) -> [FileIssue] {
    let vmNames = Set(cluster.vms.map(\.name))
    let hostNames = cluster.libvirt.map { Set($0.hosts.map(\.name)) } ?? Set(cluster.hosts.map(\.name))
    var issues: [FileIssue] = []
    for (i, rule) in rules.enumerated() {
      let path = "rules[\(positions[i])]"
      // A libvirt file lists no VMs: its rules' VM names are checked against the inventory.
      for (j, vm) in rule.vms.enumerated() where cluster.listsVMs && !vmNames.contains(vm) && !unreadVMs.mayHold(vm) {
        issues.append(
          sourceMap.issue(
            "\(path).vms[\(j)]",
            "rule \(rule.name) names VM \(SafeName.quoted(vm)), which is not in cluster \(cluster.name)"
              + Suggestion.hint(for: vm, in: Array(vmNames))))
      }
      for (j, host) in rule.hosts.enumerated() where !hostNames.contains(host) && !unreadHosts.mayHold(host) {
        issues.append(
          sourceMap.issue(
            "\(path).hosts[\(j)]",
            "rule \(rule.name) names host \(SafeName.quoted(host)), which is not in cluster \(cluster.name)"
              + Suggestion.hint(for: host, in: Array(hostNames))))
      }
    }
    return issues
  }
}

/// Turns a policy document into a ``Policy``; absent keys keep their defaults.
final class PolicyReader {
  /// Where each rule read sits in the file's `rules:` list.
  private(set) var rulePositions: [Int] = []

  func read(_ root: YAMLValue) -> Policy {
    var policy = Policy()
    guard
      let top = root.object([
        "version", "name", "weights", "threshold", "holdFor", "aggressiveness", "minImprovement",
        "maxMovesPerRound", "cooldown", "overcommit", "concurrency", "bandwidthCap", "downtimeLimit",
        "liveIneligible", "convergence", "onCancel", "monitor", "rules",
      ])
    else { return policy }
    if let version = top.optional("version")?.int(atLeast: 1), version != 1 {
      top.fields["version"]?.fail("this Ballast reads version 1 policy files, got version \(version)")
    }
    policy.name = top.optional("name")?.name() ?? policy.name
    if let weights = top.optional("weights")?.object(["cpu", "memory"]) {
      policy.weights.cpu = weights.optional("cpu")?.double(in: 0...1, what: "a weight") ?? policy.weights.cpu
      policy.weights.memory =
        weights.optional("memory")?.double(in: 0...1, what: "a weight") ?? policy.weights.memory
      if policy.weights.cpu + policy.weights.memory <= 0 {
        weights.value.fail("at least one weight must be above zero")
      }
    }
    policy.threshold =
      top.optional("threshold")?.double(in: 0...1, what: "an imbalance (a standard deviation of utilization)")
      ?? policy.threshold
    policy.holdFor = top.optional("holdFor")?.timeSpan(in: Limits.holdFor) ?? policy.holdFor
    policy.aggressiveness = top.optional("aggressiveness")?.int(in: 1...5) ?? policy.aggressiveness
    policy.minImprovement =
      top.optional("minImprovement")?.double(in: 0...1, what: "an imbalance reduction") ?? policy.minImprovement
    policy.maxMovesPerRound = top.optional("maxMovesPerRound")?.int(in: Limits.movesPerRound) ?? policy.maxMovesPerRound
    policy.cooldown = top.optional("cooldown")?.timeSpan(in: Limits.cooldown) ?? policy.cooldown
    if let overcommit = top.optional("overcommit")?.object(["cpu", "memory"]) {
      policy.overcommit.cpu =
        overcommit.optional("cpu")?.double(in: 0.1...64, what: "vCPUs per core") ?? policy.overcommit.cpu
      policy.overcommit.memory =
        overcommit.optional("memory")?.double(in: 0.1...4, what: "a memory overcommit ratio")
        ?? policy.overcommit.memory
    }
    if let concurrency = top.optional("concurrency")?.object(["perHost", "cluster"]) {
      policy.concurrency.perHost =
        concurrency.optional("perHost")?.int(in: Limits.concurrencyPerHost) ?? policy.concurrency.perHost
      policy.concurrency.cluster =
        concurrency.optional("cluster")?.int(in: Limits.concurrencyCluster) ?? policy.concurrency.cluster
    }
    if let cap = top.optional("bandwidthCap") { policy.bandwidthCap = cap.bandwidth(in: Limits.linkBandwidth) }
    policy.downtimeLimit = top.optional("downtimeLimit")?.timeSpan(in: Limits.downtime) ?? policy.downtimeLimit
    policy.liveIneligible = top.optional("liveIneligible")?.choice(LiveIneligibleAction.self) ?? policy.liveIneligible
    if let convergence = top.optional("convergence") { policy.convergence = read(convergence: convergence) }
    policy.onCancel = top.optional("onCancel")?.choice(CancelAction.self) ?? policy.onCancel
    if let monitor = top.optional("monitor") { policy.monitor = read(monitor: monitor) }
    policy.rules = rules(top.optional("rules"))
    if let monitor = top.fields["monitor"] { checkRetention(of: policy, at: monitor) }
    return policy
  }

  private func rules(_ value: YAMLValue?) -> [PlacementRule] {
    guard let items = value?.list() else { return [] }
    var rules: [PlacementRule] = []
    for (i, item) in items.enumerated() {
      guard let rule = Self.rule(item) else { continue }
      rules.append(rule)
      rulePositions.append(i)
    }
    return rules
  }

  /// Host samples must outlive what rebuilding the hold after a restart reads back.
  private func checkRetention(of policy: Policy, at monitor: YAMLValue) {
    guard case .mapping(let mapping) = monitor.node, mapping["sampleRetention"] != nil else { return }
    let needed = policy.minimumSampleRetention()
    if policy.monitor.sampleRetention < needed {
      monitor.diagnostics.report(
        mapping["sampleRetention"] ?? monitor.node, "monitor.sampleRetention",
        "host samples must be kept at least holdFor + 3 intervals (or + staleAfter when longer), here \(needed), "
          + "to rebuild the hold after a restart; got \(policy.monitor.sampleRetention)")
    }
  }

  private func read(convergence value: YAMLValue) -> Convergence {
    var c = Convergence()
    guard
      let object = value.object([
        "stopRule", "maxRounds", "maxTotalFactor", "onNoConvergence", "throttleInitial", "throttleIncrement",
        "throttleMax", "maxDowntime",
      ])
    else { return c }
    c.stopRule = object.optional("stopRule")?.choice(StopRule.self) ?? c.stopRule
    c.maxRounds = object.optional("maxRounds")?.int(in: Limits.preCopyRounds) ?? c.maxRounds
    c.maxTotalFactor = object.optional("maxTotalFactor")?.double(in: 1...100) ?? c.maxTotalFactor
    c.onNoConvergence = object.optional("onNoConvergence")?.choice(NoConvergenceAction.self) ?? c.onNoConvergence
    c.throttleInitial =
      object.optional("throttleInitial")?.double(in: 0.01...0.99, what: "a fraction") ?? c.throttleInitial
    c.throttleIncrement =
      object.optional("throttleIncrement")?.double(in: 0.01...0.99, what: "a fraction") ?? c.throttleIncrement
    c.throttleMax = object.optional("throttleMax")?.double(in: 0.01...0.99, what: "a fraction") ?? c.throttleMax
    c.maxDowntime = object.optional("maxDowntime")?.timeSpan(in: Limits.downtime) ?? c.maxDowntime
    return c
  }

  private func read(monitor value: YAMLValue) -> MonitorSettings {
    var m = MonitorSettings()
    guard
      let object = value.object(["interval", "window", "method", "alpha", "staleAfter", "sampleRetention"])
    else { return m }
    m.interval = object.optional("interval")?.timeSpan(in: Limits.interval) ?? m.interval
    m.window = object.optional("window")?.timeSpan(in: Limits.window) ?? m.window
    m.method = object.optional("method")?.choice(SmoothingMethod.self) ?? m.method
    m.alpha = object.optional("alpha")?.double(in: 0.01...1, what: "an EWMA weight") ?? m.alpha
    m.staleAfter = object.optional("staleAfter")?.timeSpan(in: Limits.staleAfter) ?? m.staleAfter
    m.sampleRetention =
      object.optional("sampleRetention")?.timeSpan(in: Limits.sampleRetention) ?? m.sampleRetention
    return m
  }

  static func rule(_ value: YAMLValue) -> PlacementRule? {
    guard let object = value.object(["name", "type", "vms", "selector", "hosts", "mode"]) else { return nil }
    let name = object.required("name", "the rule's name, used in reasons")?.name()
    let kind = object.required("type", "affinity, antiAffinity or vmHost")?.choice(RuleKind.self)
    let vms = object.optional("vms").map { $0.nameList() } ?? []
    let selector = object.optional("selector").map { $0.stringMap() } ?? [:]
    let hosts = object.optional("hosts").map { $0.nameList() } ?? []
    let mode = object.optional("mode").map { $0.choice(RuleMode.self) } ?? .must
    guard let name, let kind, let mode, let vms, let selector, let hosts else { return nil }
    if vms.isEmpty, selector.isEmpty {
      value.fail("rule \(name) selects no VMs: give vms: [...] or selector: {label: value}")
    }
    if kind == .vmHost, hosts.isEmpty {
      value.fail("vmHost rule \(name) needs hosts: [...]")
    }
    if kind != .vmHost, !hosts.isEmpty {
      object.fields["hosts"]?.fail("hosts: only applies to vmHost rules")
    }
    if kind == .antiAffinity, selector.isEmpty, vms.count < 2 {
      value.fail("antiAffinity rule \(name) needs at least two VMs")
    }
    return PlacementRule(name: name, kind: kind, vms: vms, selector: selector, hosts: hosts, mode: mode)
  }
}
