import BallastModel

/// VM–host rules of mode `must` (only the listed hosts) and `mustNot` (never the listed hosts).
/// `should` / `shouldNot` rules are preferences: see ``PreferenceScorer``.
public struct VMHostRuleFilter: PlacementFilter {
  public let check = MoveCheck.vmHost

  public init() {}

  public func admits(_ move: MoveRequest, in state: PlacementState) -> Bool {
    violated(move, in: state) == nil
  }

  public func reason(_ move: MoveRequest, in state: PlacementState) -> String {
    guard let r = violated(move, in: state) else { return "passes" }
    let rule = state.policy.rules[r]
    let vm = state.vm(move.vm).name
    let host = state.host(move.destination).name
    let hosts = Wording.list(rule.hosts.sorted())
    if rule.mode == .must { return "rule \(rule.name) keeps \(vm) on \(hosts); \(host) is not one of them" }
    return "rule \(rule.name) keeps \(vm) off \(hosts)"
  }

  public func brokenRule(_ move: MoveRequest, in state: PlacementState) -> Int? { violated(move, in: state) }

  private func violated(_ move: MoveRequest, in state: PlacementState) -> Int? {
    for r in state.rulesOf[move.vm] {
      let rule = state.policy.rules[r]
      guard rule.kind == .vmHost else { continue }
      let listed = state.ruleHosts[r].contains(move.destination)
      if rule.mode == .must && !listed { return r }
      if rule.mode == .mustNot && listed { return r }
    }
    return nil
  }
}
