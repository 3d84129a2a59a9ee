/// An affinity, anti-affinity or VM–host rule.
public struct PlacementRule: Sendable, Hashable, Codable {
  /// Name used in reasons: "anti-affinity rule web-spread".
  public var name: String
  public var kind: RuleKind
  /// VMs the rule names.
  public var vms: [String]
  /// VMs the rule selects by label (all pairs must match).
  public var selector: [String: String]
  /// Hosts of a VM–host rule.
  public var hosts: [String]
  /// Strength of a VM–host rule.
  public var mode: RuleMode

  public init(
    name: String, kind: RuleKind, vms: [String] = [], selector: [String: String] = [:],
    hosts: [String] = [], mode: RuleMode = .must
  ) {
    self.name = name
    self.kind = kind
    self.vms = vms
    self.selector = selector
    self.hosts = hosts
    self.mode = mode
  }

  /// Whether the rule applies to `vm` (named, or selected by labels).
  public func applies(to vm: VM) -> Bool {
    if vms.contains(vm.name) { return true }
    guard !selector.isEmpty else { return false }
    return selector.allSatisfy { vm.labels[$0.key] == $0.value }
  }
}

/// Kinds of placement rule.
public enum RuleKind: String, Sendable, Hashable, Codable, CaseIterable {
  /// The VMs are kept on one host.
  case affinity
  /// The VMs are kept on different hosts.
  case antiAffinity
  /// The VMs are kept on (or off) the listed hosts.
  case vmHost
}

/// Strength and direction of a VM–host rule.
public enum RuleMode: String, Sendable, Hashable, Codable, CaseIterable {
  /// Only on the listed hosts.
  case must
  /// Preferably on the listed hosts (a scorer, not a filter).
  case should
  /// Never on the listed hosts.
  case mustNot
  /// Preferably not on the listed hosts.
  case shouldNot
}
