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
  /// Strength (and, for VM–host rules, direction): `must` / `mustNot` are hard rules planners
  /// never break and repair first; `should` / `shouldNot` are soft. Affinity and anti-affinity
  /// rules take `must` (the default) or `should`.
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

  /// Whether planners must never break the rule (`must`, `mustNot`); soft rules (`should`,
  /// `shouldNot`) are kept when that costs little (see ``RepairSettings/softWeight``).
  public var isHard: Bool { mode.isHard }

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

/// Strength and direction of a rule (affinity and anti-affinity rules take `must` or `should`).
public enum RuleMode: String, Sendable, Hashable, Codable, CaseIterable {
  /// Only on the listed hosts (affinity kinds: always together, always apart).
  case must
  /// Preferably on the listed hosts (affinity kinds: together, apart, when that costs little).
  case should
  /// Never on the listed hosts.
  case mustNot
  /// Preferably not on the listed hosts.
  case shouldNot

  /// `must` and `mustNot`: a hard rule.
  public var isHard: Bool { self == .must || self == .mustNot }
}
