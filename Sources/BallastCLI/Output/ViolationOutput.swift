import BallastModel

/// A ``RuleViolation`` as every `--json` output prints it (`validate`, `status`, `plan`):
/// every key always there, `null` when it does not apply.
struct ViolationJSON: Encodable {
  var kind: RuleViolation.Kind
  var check: String
  var rule: String?
  var mode: RuleMode?
  var hard: Bool
  var vms: [String]
  var hosts: [String]
  var sentence: String

  init(_ violation: RuleViolation) {
    kind = violation.kind
    check = violation.check.name
    rule = violation.rule
    mode = violation.mode
    hard = violation.hard
    vms = violation.vms
    hosts = violation.hosts
    sentence = violation.sentence
  }

  enum CodingKeys: String, CodingKey { case kind, check, rule, mode, hard, vms, hosts, sentence }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(kind, forKey: .kind)
    try container.encode(check, forKey: .check)
    try container.encode(rule, forKey: .rule)
    try container.encode(mode, forKey: .mode)
    try container.encode(hard, forKey: .hard)
    try container.encode(vms, forKey: .vms)
    try container.encode(hosts, forKey: .hosts)
    try container.encode(sentence, forKey: .sentence)
  }
}

/// Rule violations as text: `status`, `plan` and `validate` list them alike.
enum ViolationText {
  /// One line per violation: hard or soft, the check, the sentence.
  static func table(_ violations: [RuleViolation], indent: String = "  ") -> String {
    var table = TextTable(["", "CHECK", "WHAT"])
    for violation in violations {
      table.add([violation.hard ? "hard" : "soft", violation.check.name, violation.sentence])
    }
    return table.render().split(separator: "\n").dropFirst().map { indent + $0 }.joined(separator: "\n")
  }

  /// `2 broken rules (1 hard, 1 soft)`.
  static func count(_ violations: [RuleViolation]) -> String {
    "\(violations.count) broken rule\(violations.count == 1 ? "" : "s") (\(split(violations)))"
  }

  /// `1 hard, 1 soft` (`none` for no violations).
  static func split(_ violations: [RuleViolation]) -> String {
    let hard = violations.filter(\.hard).count
    let soft = violations.count - hard
    let parts = [hard > 0 ? "\(hard) hard" : nil, soft > 0 ? "\(soft) soft" : nil].compactMap { $0 }
    return parts.isEmpty ? "none" : parts.joined(separator: ", ")
  }
}
