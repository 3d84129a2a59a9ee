import BallastModel

/// Anti-affinity: a VM never joins a host that holds another member of one of its hard
/// (`mode: must`) anti-affinity rules (members count whether running or off). Soft ones are
/// preferences (``SoftAffinityScorer``).
public struct AntiAffinityFilter: PlacementFilter {
  public let check = MoveCheck.antiAffinity

  public init() {}

  public func admits(_ move: MoveRequest, in state: PlacementState) -> Bool {
    conflict(move, in: state) == nil
  }

  public func reason(_ move: MoveRequest, in state: PlacementState) -> String {
    guard let r = conflict(move, in: state) else { return "passes" }
    let others = state.ruleMembers[r].filter { $0 != move.vm && state.hostOf[$0] == move.destination }
      .map { state.vm($0).name }.sorted()
    let host = state.host(move.destination).name
    return "anti-affinity rule \(state.policy.rules[r].name) keeps \(state.vm(move.vm).name) apart from "
      + "\(Wording.list(others)), already on \(host)"
  }

  public func brokenRule(_ move: MoveRequest, in state: PlacementState) -> Int? { conflict(move, in: state) }

  private func conflict(_ move: MoveRequest, in state: PlacementState) -> Int? {
    for r in state.rulesOf[move.vm] where state.policy.rules[r].kind == .antiAffinity && state.policy.rules[r].isHard {
      if state.othersOfRule(r, on: move.destination, excluding: move.vm) > 0 { return r }
    }
    return nil
  }
}

/// Affinity: a VM stays with the other members of its hard (`mode: must`) affinity rules (soft
/// ones are preferences: ``SoftAffinityScorer``). When some of them are on
/// active hosts, the destination must hold at least one of them; members on hosts in
/// maintenance do not count (they are leaving too), so a drained group follows its first member.
public struct AffinityFilter: PlacementFilter {
  public let check = MoveCheck.affinity

  public init() {}

  public func admits(_ move: MoveRequest, in state: PlacementState) -> Bool {
    broken(move, in: state) == nil
  }

  public func reason(_ move: MoveRequest, in state: PlacementState) -> String {
    guard let r = broken(move, in: state) else { return "passes" }
    let holders = state.hostsOfRule(r, excluding: move.vm).filter { state.isActive($0.host) }
    let others = state.ruleMembers[r].filter { v in
      v != move.vm && holders.contains { $0.host == state.hostOf[v] }
    }.map { state.vm($0).name }.sorted()
    let hosts = holders.map { state.host($0.host).name }.sorted()
    return "affinity rule \(state.policy.rules[r].name) keeps \(state.vm(move.vm).name) with "
      + "\(Wording.list(others)) on \(Wording.list(hosts))"
  }

  public func brokenRule(_ move: MoveRequest, in state: PlacementState) -> Int? { broken(move, in: state) }

  private func broken(_ move: MoveRequest, in state: PlacementState) -> Int? {
    for r in state.rulesOf[move.vm] where state.policy.rules[r].kind == .affinity && state.policy.rules[r].isHard {
      var elsewhere = 0
      var onDestination = 0
      for (h, count) in state.hostsOfRule(r, excluding: move.vm) where state.isActive(h) {
        if h == move.destination { onDestination += count } else { elsewhere += count }
      }
      if elsewhere > 0 && onDestination == 0 { return r }
    }
    return nil
  }
}
