/// One rule the cluster breaks as it stands: which, the VMs and hosts involved, and a sentence.
///
/// Found by ``RuleViolations/find(in:policy:)``; `validate` warns about them, `status` lists
/// them, and balance rounds repair the hard ones first (their moves say which they repair).
public struct RuleViolation: Sendable, Hashable, Codable {
  /// What is broken.
  public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Members of an anti-affinity rule share a host (one violation per rule and host).
    case antiAffinity
    /// Members of an affinity rule are on more than one host.
    case affinity
    /// A VM is off the hosts of its `must` / `should` rule, or on a host of its `mustNot` /
    /// `shouldNot` rule (one violation per rule and VM).
    case vmHost
    /// A host's running VMs exceed its memory or vCPU limit under the policy's overcommit.
    case capacity
    /// A running VM is on a host whose CPU lacks features it was started with: it could not
    /// start there again, and moves off it are its repair.
    case cpu

    /// The check that keeps moves from causing it, in the one vocabulary of checks.
    public var check: MoveCheck {
      switch self {
      case .antiAffinity: .antiAffinity
      case .affinity: .affinity
      case .vmHost: .vmHost
      case .capacity: .capacity
      case .cpu: .cpuCompatibility
      }
    }
  }

  public var kind: Kind
  /// The rule's name (affinity, anti-affinity and VM–host kinds); `nil` for capacity and CPU.
  public var rule: String?
  /// The rule's mode (`nil` for capacity and CPU, which are always hard).
  public var mode: RuleMode?
  /// Hard: planners repair it first and never cause it. Soft: kept when that costs little.
  public var hard: Bool
  /// The VMs involved, sorted.
  public var vms: [String]
  /// The hosts involved, sorted.
  public var hosts: [String]
  /// What is wrong, in an operator's words.
  public var sentence: String

  public init(
    kind: Kind, rule: String?, mode: RuleMode?, hard: Bool, vms: [String], hosts: [String], sentence: String
  ) {
    self.kind = kind
    self.rule = rule
    self.mode = mode
    self.hard = hard
    self.vms = vms
    self.hosts = hosts
    self.sentence = sentence
  }

  /// The check that keeps moves from causing it (`anti-affinity`, `capacity`, …).
  public var check: MoveCheck { kind.check }

  /// What to call it in a metric label or a summary: the rule's name, else the kind.
  public var label: String { rule ?? kind.rawValue }
}
