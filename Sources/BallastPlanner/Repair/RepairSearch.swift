import BallastModel

/// What the repair step of a plan chose: its moves, and where they leave the cluster.
struct RepairOutcome {
  var moves: [PlannedMove] = []
  /// Each move's VM and destination positions, in planning order.
  var placements: [(vm: Int, to: Int)] = []
  var rejected: [Rejection] = []
  var notes: [String] = []
  /// The cluster once the repairs are done: where balancing starts.
  var final: PlacementState
  /// VMs the repairs move (they move at most once per plan).
  var moved: [Bool]
  /// The rules the snapshot breaks (`nil` when it breaks none).
  var violations: [RuleViolation]?
}

/// The repair step of a balance plan: the fewest moves that end every hard-rule violation it
/// can (``RuleDebt``), then the soft rules whose repair adds little imbalance.
///
/// Greedy over the violations, hard ones in the order cpu, VM–host, anti-affinity, affinity,
/// capacity (moves made for the others often relieve capacity too): for each, every move of a
/// VM involved (with the members of its hard affinity rules on its host, which go together) to
/// every active host that passes the placement pipeline is tried, and the move that ends the
/// most hard debt per VM moved wins; ties go to moves that need no shutdown, break fewer soft
/// rules, then keep the hosts most even at the lowest cost (``ScoringProfile/repair``). A
/// violation no move reduces is reported with each candidate host's reason, like a refused
/// drain. Cooldowns apply, and nothing moves off a host that is not active.
struct RepairSearch {
  var state: PlacementState
  let policy: Policy
  let history: MoveHistory
  let options: BalanceOptions
  let pipeline: PlacementPipeline
  let profile: ScoringProfile
  let cooling: [Double?]
  /// Running VMs on a host whose CPU they could not start on, in the snapshot.
  let cpuBroken: [Bool]
  var cache = PredictionCache()
  var outcome: RepairOutcome

  /// A unit's move to one destination, tried and taken back.
  struct Trial {
    var unit: [Int]
    var destination: Int
    var decisions: [MoveDecision]
    /// Hard and soft debt the move ends (negative: adds).
    var hardGain: Int
    var softGain: Int
    /// The debts it reduces, and those it ends.
    var reduced: [RuleDebt]
    var ended: [RuleDebt]
    var imbalanceBefore: Double
    var imbalanceAfter: Double
    var fullness: Double
    var value: Double
    var shutdown: Bool { decisions.contains { $0.requiresShutdown } }
    var imbalanceAdded: Double { imbalanceAfter - imbalanceBefore }
    var costUnits: Double { decisions.reduce(0) { $0 + $1.costUnits } }
  }

  init(state: PlacementState, history: MoveHistory, options: BalanceOptions, cooling: [Double?]) {
    self.state = state
    self.policy = state.policy
    self.history = history
    self.options = options
    self.pipeline = PlacementPipeline(policy: state.policy)
    self.profile = ScoringProfile.repair.addingSoftAffinity(for: state.policy)
    self.cooling = cooling
    self.cpuBroken = Self.cpuBroken(in: state)
    self.outcome = RepairOutcome(final: state, moved: [Bool](repeating: false, count: state.cluster.vms.count))
  }

  /// Which running VMs sit on a host whose CPU they could not start on (``CPUCheck``), computed
  /// once per pair of VM model and host CPU.
  private static func cpuBroken(in state: PlacementState) -> [Bool] {
    let profiles = (state.hostCPU.max() ?? 0) + 1
    let models = (state.vmCPU.max() ?? 0) + 1
    // 0: not asked yet, 1: runs, 2: cannot start again.
    var known = [UInt8](repeating: 0, count: profiles * models)
    return state.cluster.vms.indices.map { v in
      let h = state.hostOf[v]
      guard state.vmRunning[v], h >= 0 else { return false }
      let key = state.vmCPU[v] * profiles + state.hostCPU[h]
      if known[key] == 0 {
        let broken = !CPUCheck.unrunnableFeatures(state.vm(v), on: state.host(h)).isEmpty
        known[key] = broken ? 2 : 1
      }
      return known[key] == 2
    }
  }

  // MARK: Run

  /// Repairs within `budget` moves; soft rules too unless `hardOnly`.
  mutating func run(budget: Int, hardOnly: Bool) -> RepairOutcome {
    let hard = openDebts(hard: true)
    let soft = openDebts(hard: false)
    guard !hard.isEmpty || !soft.isEmpty else { return outcome }
    let violations = RuleViolations.find(in: state.cluster, policy: policy)
    outcome.violations = violations.isEmpty ? nil : violations
    var left = max(0, budget)
    // Repairs that need no shutdown first, again while they free room for others; then
    // those that shut a VM down, for what is left.
    var allowShutdown = false
    while left > 0 {
      var progress = false
      for debt in hard {
        while left > 0, debtValue(debt) > 0,
          let trial = search(debt, soft: false, budget: left, allowShutdown: allowShutdown).best
        {
          take(trial, soft: false, violations: violations)
          left -= trial.unit.count
          progress = true
        }
      }
      if !progress {
        if allowShutdown { break }
        allowShutdown = true
      }
    }
    let open = hard.filter { debtValue($0) > 0 }
    let waiting = left == 0 ? open : []
    let unrepairable = left == 0 ? [] : open
    let repairedHard = hard.count - unrepairable.count - waiting.count
    if !outcome.moves.isEmpty {
      outcome.notes.append(
        "rules first: \(outcome.moves.count) move\(outcome.moves.count == 1 ? " repairs" : "s repair") "
          + "\(repairedHard) of \(hard.count) broken hard rule\(hard.count == 1 ? "" : "s")")
    }
    for debt in unrepairable { reportUnrepairable(debt, violations: violations) }
    if !waiting.isEmpty {
      let names = waiting.compactMap { violation(for: $0, unit: [], in: violations)?.label }
      outcome.notes.append(
        "\(waiting.count) broken hard rule\(waiting.count == 1 ? "" : "s") (\(Wording.list(names))) "
          + "wait\(waiting.count == 1 ? "s" : "") for the next round: this round's \(budget) repair moves are used "
          + "(policy \(policy.repair.maxMoves == nil ? "maxMovesPerRound" : "repair.maxMoves"))")
    }
    if !hardOnly {
      for debt in soft {
        while debtValue(debt) > 0 {
          guard left > 0 else {
            noteSoft(debt, "this round's repair moves are used", violations: violations)
            break
          }
          let found = search(debt, soft: true, budget: left)
          guard let trial = found.best else {
            noteSoft(debt, whyNot(found.tooCostly), violations: violations)
            break
          }
          take(trial, soft: true, violations: violations)
          left -= trial.unit.count
        }
      }
    }
    outcome.final = state
    return outcome
  }

  // MARK: Debts

  /// Every rule the state breaks now, hard or soft, in repair order.
  private func openDebts(hard: Bool) -> [RuleDebt] {
    var found: [RuleDebt] = []
    if hard {
      for v in cpuBroken.indices where cpuBroken[v] { found.append(.cpu(vm: v)) }
    }
    let rules = policy.rules
    for r in rules.indices where rules[r].isHard == hard && rules[r].kind == .vmHost {
      for v in state.ruleMembers[r] where state.breaksVMHostRule(r, vm: v) { found.append(.vmHost(rule: r, vm: v)) }
    }
    for r in rules.indices where rules[r].isHard == hard && rules[r].kind == .antiAffinity {
      if state.antiAffinityDebt(r) > 0 { found.append(.antiAffinity(rule: r)) }
    }
    for r in rules.indices where rules[r].isHard == hard && rules[r].kind == .affinity {
      if state.affinityDebt(r) > 0 { found.append(.affinity(rule: r)) }
    }
    if hard {
      for h in state.cluster.hosts.indices where state.capacityDebt(h) > 0 { found.append(.capacity(host: h)) }
    }
    return found
  }

  private func isHard(_ debt: RuleDebt) -> Bool {
    switch debt {
    case .cpu, .capacity: true
    case .vmHost(let r, _), .antiAffinity(let r), .affinity(let r): policy.rules[r].isHard
    }
  }

  /// Moves still needed to end `debt` in the state now (`moving`: VMs counted as moved).
  private func debtValue(_ debt: RuleDebt, moving: [Int] = []) -> Int {
    switch debt {
    case .vmHost(let r, let v): state.breaksVMHostRule(r, vm: v) ? 1 : 0
    case .cpu(let v): cpuBroken[v] && !outcome.moved[v] && !moving.contains(v) ? 1 : 0
    case .antiAffinity(let r): state.antiAffinityDebt(r)
    case .affinity(let r): state.affinityDebt(r)
    case .capacity(let h): state.capacityDebt(h)
    }
  }

  /// The debts a move of `unit` off `source` can change.
  private func affectedDebts(_ unit: [Int], source: Int) -> [RuleDebt] {
    var debts: [RuleDebt] = []
    for v in unit {
      if cpuBroken[v] && !outcome.moved[v] { debts.append(.cpu(vm: v)) }
      for r in state.rulesOf[v] {
        switch policy.rules[r].kind {
        case .vmHost: debts.append(.vmHost(rule: r, vm: v))
        case .antiAffinity: debts.append(.antiAffinity(rule: r))
        case .affinity: debts.append(.affinity(rule: r))
        }
      }
    }
    debts.append(.capacity(host: source))
    var seen = Set<RuleDebt>()
    return debts.filter { seen.insert($0).inserted }
  }

  /// VMs whose move can reduce `debt`.
  private func candidates(for debt: RuleDebt) -> [Int] {
    switch debt {
    case .vmHost(_, let v), .cpu(let v): return [v]
    case .antiAffinity(let r):
      return state.ruleMembers[r].filter { v in
        state.hostOf[v] >= 0 && (state.ruleCount[r][state.hostOf[v]] ?? 0) > 1
      }
    case .affinity(let r): return state.ruleMembers[r].filter { state.hostOf[$0] >= 0 }
    case .capacity(let h):
      // Only the VMs whose leaving brings the host closer to its limits, largest first.
      let debt = state.capacityDebt(h)
      return state.vmsOn[h].filter { state.vmRunning[$0] && state.capacityDebt(h, leaving: [$0]) < debt }.sorted {
        state.vmMemory[$0] != state.vmMemory[$1] ? state.vmMemory[$0] > state.vmMemory[$1] : $0 < $1
      }
    }
  }

  /// `v` and the members of its hard affinity rules on its host (transitively): they move
  /// together. `v` first, the others by name.
  private func unit(of v: Int) -> [Int] {
    let h = state.hostOf[v]
    var unit = [v]
    var i = 0
    while i < unit.count {
      let u = unit[i]
      i += 1
      for r in state.rulesOf[u] where policy.rules[r].kind == .affinity && policy.rules[r].isHard {
        for m in state.ruleMembers[r] where state.hostOf[m] == h && !unit.contains(m) { unit.append(m) }
      }
    }
    return [v] + unit.dropFirst().sorted { state.vm($0).name < state.vm($1).name }
  }

  /// Why `v` cannot move at all in this plan, or `nil` when it can.
  private func immovable(_ v: Int) -> String? {
    let h = state.hostOf[v]
    guard h >= 0 else { return "its host is not in the cluster" }
    if !state.isActive(h) {
      return "\(state.host(h).name) is in maintenance or not seen recently: nothing moves off it"
    }
    if outcome.moved[v] { return "it already moves in this plan" }
    if let remaining = cooling[v] {
      let last = history.lastMove[state.vm(v).name]
      let ago = last.map { " \(Wording.duration(max(0, history.now - $0.at))) ago from \($0.from)" } ?? ""
      return "it moved\(ago); it stays put for the \(policy.cooldown) cooldown (\(Wording.duration(remaining)) left)"
    }
    return nil
  }

  // MARK: Trials

  /// What the search found for one debt: the best move, and for a soft debt the best move
  /// refused only because it adds too much imbalance or shuts a VM down (the trade the notes show).
  struct Found {
    var best: Trial?
    var tooCostly: Trial?
  }

  /// The best move that reduces `debt` within `budget` moves.
  private mutating func search(_ debt: RuleDebt, soft: Bool, budget: Int, allowShutdown: Bool = false) -> Found {
    var found = Found()
    var tried = Set<[Int]>()
    for v in candidates(for: debt) {
      let unit = unit(of: v)
      guard unit.count <= budget, unit.allSatisfy({ immovable($0) == nil }), tried.insert(unit.sorted()).inserted
      else { continue }
      let source = state.hostOf[v]
      let debts = affectedDebts(unit, source: source)
      let valuesBefore = debts.map { debtValue($0) }
      let sourceCapacityAfter = state.capacityDebt(source, leaving: unit)
      for d in state.activeHosts where d != source {
        guard
          let trial = trial(
            unit, to: d, debts: debts, valuesBefore: valuesBefore, sourceCapacityAfter: sourceCapacityAfter),
          trial.reduced.contains(debt)
        else { continue }
        if acceptable(trial, soft: soft, allowShutdown: allowShutdown) {
          if found.best.map({ isBetter(trial, than: $0, soft: soft) }) ?? true { found.best = trial }
        } else if soft, trial.softGain >= 1, trial.hardGain >= 0 {
          if found.tooCostly.map({ isBetter(trial, than: $0, soft: true) }) ?? true { found.tooCostly = trial }
        }
      }
    }
    return found
  }

  /// Whether a trial may be taken: a hard repair ends hard debt (shutting a VM down only when
  /// `allowShutdown`); a soft one ends soft debt
  /// without adding hard debt, without a shutdown, for at most `repair.softWeight` of imbalance
  /// per soft rule.
  private func acceptable(_ trial: Trial, soft: Bool, allowShutdown: Bool) -> Bool {
    guard soft else { return trial.hardGain >= 1 && (allowShutdown || !trial.shutdown) }
    return trial.softGain >= 1 && trial.hardGain >= 0 && !trial.shutdown
      && trial.imbalanceAdded <= policy.repair.softWeight * Double(trial.softGain) + 1e-12
  }

  /// Most debt ended per VM moved, then fewer VMs, no shutdown, then more soft rules kept (hard
  /// repairs) or less imbalance added (soft ones), then the profile's value, then names.
  private func isBetter(_ a: Trial, than b: Trial, soft: Bool) -> Bool {
    let gainA = Double(soft ? a.softGain : a.hardGain) / Double(a.unit.count)
    let gainB = Double(soft ? b.softGain : b.hardGain) / Double(b.unit.count)
    if gainA != gainB { return gainA > gainB }
    if a.unit.count != b.unit.count { return a.unit.count < b.unit.count }
    if a.shutdown != b.shutdown { return !a.shutdown }
    // Figures within rounding are ties: moves tried and taken back leave float residue.
    let tolerance = 1e-9
    if soft {
      if abs(a.imbalanceAfter - b.imbalanceAfter) > tolerance { return a.imbalanceAfter < b.imbalanceAfter }
    } else if a.softGain != b.softGain {
      return a.softGain > b.softGain
    }
    if abs(a.value - b.value) > tolerance { return a.value > b.value }
    let nameA = state.vm(a.unit[0]).name
    let nameB = state.vm(b.unit[0]).name
    if nameA != nameB { return nameA < nameB }
    return state.host(a.destination).name < state.host(b.destination).name
  }

  /// Moves `unit` to `d` as one arrival (each member checked with the others already there,
  /// as a drain places an affinity group), measures the `debts` it changes, and takes the moves
  /// back. `nil` when a member is refused.
  private mutating func trial(
    _ unit: [Int], to d: Int, debts: [RuleDebt], valuesBefore: [Int], sourceCapacityAfter: Int
  ) -> Trial? {
    let source = state.hostOf[unit[0]]
    let before = state.imbalance
    var decisions: [MoveDecision] = []
    if unit.count == 1 {
      // One VM: checked where it is, moved only once it passes (most hosts refuse).
      guard
        case .pass(let decision) = pipeline.check(MoveRequest(vm: unit[0], destination: d), in: state, cache: &cache)
      else { return nil }
      decisions.append(decision)
      state.move(unit[0], to: d)
    } else {
      for v in unit { state.move(v, to: d) }
    }
    defer { for v in unit.reversed() { state.move(v, to: source) } }
    if unit.count > 1 {
      for v in unit {
        state.move(v, to: source)
        let check = pipeline.check(MoveRequest(vm: v, destination: d), in: state, cache: &cache)
        state.move(v, to: d)
        guard case .pass(let decision) = check else { return nil }
        decisions.append(decision)
      }
    }
    var hardGain = 0
    var softGain = 0
    var reduced: [RuleDebt] = []
    var ended: [RuleDebt] = []
    for (i, debt) in debts.enumerated() {
      let after: Int
      if case .capacity(let h) = debt, h == source {
        after = sourceCapacityAfter
      } else {
        after = debtValue(debt, moving: unit)
      }
      if isHard(debt) { hardGain += valuesBefore[i] - after } else { softGain += valuesBefore[i] - after }
      if after < valuesBefore[i] { reduced.append(debt) }
      if after == 0, valuesBefore[i] > 0 { ended.append(debt) }
    }
    var combined = decisions[0]
    combined.costUnits = decisions.reduce(0) { $0 + $1.costUnits }
    let context = ScoringContext(
      move: MoveRequest(vm: unit[0], destination: d), decision: combined, imbalanceBefore: before,
      imbalanceAfter: state.imbalance, destinationScoreAfter: state.scores[d])
    return Trial(
      unit: unit, destination: d, decisions: decisions, hardGain: hardGain, softGain: softGain, reduced: reduced,
      ended: ended,
      imbalanceBefore: before, imbalanceAfter: state.imbalance, fullness: state.scores[d],
      value: profile.total(context, in: state))
  }

  // MARK: Taking a repair

  private mutating func take(_ trial: Trial, soft: Bool, violations: [RuleViolation]) {
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
    }
    for v in trial.unit {
      state.move(v, to: trial.destination)
      outcome.moved[v] = true
    }
  }

  /// The snapshot's violation `debt` stands for (the one involving `unit`, for anti-affinity).
  private func violation(for debt: RuleDebt, unit: [Int], in violations: [RuleViolation]) -> RuleViolation? {
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
  private mutating func reportUnrepairable(_ debt: RuleDebt, violations: [RuleViolation]) {
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
  private func whyNot(_ tooCostly: Trial?) -> String {
    guard let trial = tooCostly else {
      return "no move satisfies it: no host that would satisfy it takes its VMs, or they cannot move now"
    }
    let move = "moving \(state.vm(trial.unit[0]).name) to \(state.host(trial.destination).name)"
    if trial.shutdown { return "the best fix, \(move), would shut it down" }
    return "the cheapest fix, \(move), adds \(Wording.imbalance(trial.imbalanceAdded)) imbalance; the policy's "
      + "repair.softWeight allows \(Wording.imbalance(policy.repair.softWeight)) per soft rule"
  }

  /// Why soft rule `debt` stays broken, as a note.
  private mutating func noteSoft(_ debt: RuleDebt, _ why: String, violations: [RuleViolation]) {
    guard let found = violation(for: debt, unit: [], in: violations) else { return }
    outcome.notes.append("soft rule left broken: \(found.sentence) — \(why)")
  }
}
