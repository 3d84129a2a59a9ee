import BallastModel

/// What the repair step writes: each repair move with its reason, and why a broken rule stays.
extension RepairSearch {
  // MARK: Taking a repair

  mutating func take(_ trial: Trial, soft: Bool, violations: [RuleViolation]) {
    let first = trial.unit[0]
    let source = state.hostOf[first]
    let names = trial.unit.map { state.vm($0).name }
    let repaired = trial.reduced.compactMap { violation(for: $0, unit: trial.unit, in: violations) }
    func sentences(_ debts: [RuleDebt]) -> [String] {
      debts.filter { isHard($0) != soft }.compactMap { violation(for: $0, unit: trial.unit, in: violations)?.sentence }
    }
    let ended = sentences(trial.ended)
    let helped = sentences(trial.reduced.filter { !trial.ended.contains($0) })
    var clauses: [String] = []
    if !ended.isEmpty { clauses.append("\(soft ? "satisfies" : "repairs") \(ended.joined(separator: "; "))") }
    if !helped.isEmpty { clauses.append("helps \(soft ? "satisfy" : "repair") \(helped.joined(separator: "; "))") }
    let rules =
      clauses.isEmpty ? (soft ? "satisfies a soft rule" : "repairs a broken rule") : clauses.joined(separator: "; ")
    var combined = trial.decisions[0]
    combined.costUnits = trial.costUnits
    let context = ScoringContext(
      move: MoveRequest(vm: first, destination: trial.destination), decision: combined,
      imbalanceBefore: trial.imbalanceBefore, imbalanceAfter: trial.imbalanceAfter,
      destinationScoreAfter: trial.fullness)
    let terms = profile.terms(context, in: state)
    let destination = state.host(trial.destination).name
    let what: String
    if soft {
      let added = trial.imbalanceAfter - trial.imbalanceBefore
      let trade =
        added > 0
        ? "+\(Wording.imbalance(added)), within the policy's repair.softWeight of "
          + "\(Wording.imbalance(policy.repair.softWeight)) per soft rule"
        : "no imbalance added"
      what =
        "\(rules): imbalance \(Wording.imbalance(trial.imbalanceBefore)) → "
        + "\(Wording.imbalance(trial.imbalanceAfter)) (\(trade))"
    } else {
      what =
        "\(rules); \(destination) keeps the hosts most even "
        + "(imbalance \(Wording.imbalance(trial.imbalanceBefore)) → \(Wording.imbalance(trial.imbalanceAfter)))"
    }
    for (i, v) in trial.unit.enumerated() {
      let decision = trial.decisions[i]
      let disks = decision.kind == .cold ? state.disksToCopy(v, to: trial.destination) : []
      let lead =
        i == 0
        ? what
        : "goes with \(names[0]) (hard affinity keeps them on one host), which \(rules)"
      outcome.moves.append(
        PlannedMove(
          vm: names[i], from: state.host(source).name, to: destination, kind: decision.kind,
          reason: lead + PlanTail.kindClause(decision, vm: state.vm(v), destination: destination, disks: disks),
          score: terms, predicted: decision.predicted, requiresShutdown: decision.requiresShutdown,
          disksToCopy: disks, repairs: repaired))
      outcome.placements.append((vm: v, to: trial.destination))
      outcome.decisions.append(decision)
    }
    for v in trial.unit {
      state.move(v, to: trial.destination)
      outcome.moved[v] = true
    }
  }

  /// The snapshot's violation `debt` stands for (the one involving `unit`, for anti-affinity).
  func violation(for debt: RuleDebt, unit: [Int], in violations: [RuleViolation]) -> RuleViolation? {
    let names = Set(unit.map { state.vm($0).name })
    switch debt {
    case .vmHost(let r, let v):
      return violations.first { $0.kind == .vmHost && $0.rule == policy.rules[r].name && $0.vms == [state.vm(v).name] }
    case .cpu(let v):
      return violations.first { $0.kind == .cpu && $0.vms == [state.vm(v).name] }
    case .antiAffinity(let r):
      let ofRule = violations.filter { $0.kind == .antiAffinity && $0.rule == policy.rules[r].name }
      return ofRule.first { !names.isDisjoint(with: $0.vms) } ?? ofRule.first
    case .affinity(let r):
      return violations.first { $0.kind == .affinity && $0.rule == policy.rules[r].name }
    case .capacity(let h):
      return violations.first { $0.kind == .capacity && $0.hosts == [state.host(h).name] }
    }
  }

  // MARK: What cannot be repaired

  /// A hard violation no move reduces: a note, and for each VM whose move could end it, why
  /// it cannot go (its own reason, or every active host's, with a summary like a refused drain).
  mutating func reportUnrepairable(_ debt: RuleDebt, violations: [RuleViolation]) {
    let found = violation(for: debt, unit: [], in: violations)
    let sentence = found?.sentence ?? "a hard rule"
    let check = found?.check ?? .vmHost
    var vms = candidates(for: debt)
    if case .capacity = debt { vms = Array(vms.prefix(max(1, debtValue(debt)))) }
    let active = state.activeHosts
    var reasons: [String] = []
    for v in vms {
      let name = state.vm(v).name
      if let why = unit(of: v).compactMap({ immovable($0) }).first {
        reasons.append("\(name): \(why)")
        outcome.rejected.append(
          Rejection(vm: name, host: nil, check: check, reason: "cannot repair \(sentence): \(why)"))
        continue
      }
      let source = state.hostOf[v]
      let others = active.filter { $0 != source }
      var counts = RefusalCounts()
      var example: Rejection?
      var perHost: [Rejection] = []
      var takers = 0
      for d in others {
        let move = MoveRequest(vm: v, destination: d)
        let result = pipeline.check(move, in: state, cache: &cache)
        if let failed = pipeline.failedCheck(result) {
          counts.add(failed)
          if let rejection = pipeline.rejection(move, in: state, cache: &cache) {
            if example == nil { example = rejection }
            if active.count <= options.detailedRejectionHostLimit { perHost.append(rejection) }
          }
        } else {
          takers += 1
        }
      }
      var summary = counts.rejection(vm: name, hosts: others.count - takers, example: example)
      var why = summary.reason
      if takers > 0 {
        why =
          "\(takers) of the \(others.count) other active hosts take\(takers == 1 ? "s" : "") it without ending it"
          + (others.count > takers ? "; \(why)" : "")
      }
      summary.reason = "cannot repair \(sentence): \(why)"
      reasons.append("\(name): \(why)")
      outcome.rejected.append(summary)
      outcome.rejected += perHost
    }
    outcome.notes.append(
      "cannot repair \(sentence) — "
        + (reasons.isEmpty ? "no VM of it can move" : Wording.list(reasons, limit: 3)))
  }

  /// Why no move satisfies a soft rule: the cheapest fix costs too much, or there is none.
  func whyNot(_ tooCostly: Trial?) -> String {
    guard let trial = tooCostly else {
      return "no move satisfies it: no host that would satisfy it takes its VMs, or they cannot move now"
    }
    let move = "moving \(state.vm(trial.unit[0]).name) to \(state.host(trial.destination).name)"
    if trial.shutdown { return "the best fix, \(move), would shut it down" }
    return "the cheapest fix, \(move), adds \(Wording.imbalance(trial.imbalanceAdded)) imbalance; the policy's "
      + "repair.softWeight allows \(Wording.imbalance(policy.repair.softWeight)) per soft rule"
  }

  /// Why soft rule `debt` stays broken, as a note.
  mutating func noteSoft(_ debt: RuleDebt, _ why: String, violations: [RuleViolation]) {
    guard let found = violation(for: debt, unit: [], in: violations) else { return }
    outcome.notes.append("soft rule left broken: \(found.sentence) — \(why)")
  }
}
