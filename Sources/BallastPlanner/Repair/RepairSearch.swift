import BallastModel

/// What the repair step of a plan chose: its moves, and where they leave the cluster.
struct RepairOutcome {
  var moves: [PlannedMove] = []
  /// Each move's VM and destination positions, in planning order.
  var placements: [(vm: Int, to: Int)] = []
  /// Each move's kind decision (the plan's schedule prices it).
  var decisions: [MoveDecision] = []
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

  init(
    state: PlacementState, history: MoveHistory, options: BalanceOptions, cooling: [Double?],
    model: CostModel = CostModel()
  ) {
    self.state = state
    self.policy = state.policy
    self.history = history
    self.options = options
    self.pipeline = PlacementPipeline(policy: state.policy, model: model)
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

  func isHard(_ debt: RuleDebt) -> Bool {
    switch debt {
    case .cpu, .capacity: true
    case .vmHost(let r, _), .antiAffinity(let r), .affinity(let r): policy.rules[r].isHard
    }
  }

  /// Moves still needed to end `debt` in the state now (`moving`: VMs counted as moved).
  func debtValue(_ debt: RuleDebt, moving: [Int] = []) -> Int {
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
  func candidates(for debt: RuleDebt) -> [Int] {
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
  func unit(of v: Int) -> [Int] {
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
  func immovable(_ v: Int) -> String? {
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
}
