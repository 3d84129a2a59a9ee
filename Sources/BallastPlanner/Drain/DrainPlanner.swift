import BallastModel

/// Options of the drain planner.
public struct DrainOptions: Sendable, Hashable {
  /// Up to this many active hosts, every destination rejected for a moved VM is listed; above
  /// it, only blocked VMs are (host by host), and hosts that cannot score better than the best
  /// found so far are skipped unchecked (`plan --explain VM` shows any VM's every host).
  public var detailedRejectionHostLimit: Int = 64
  /// Above the detail limit, each VM is first tried on this many least loaded hosts overall, as
  /// many it reaches without a disk copy or a shutdown, and as many on links as fast as its
  /// own; other hosts only when the best of those needs a copy or a shutdown (the ones that do
  /// not) or when none of them takes it (all of them).
  public var candidateHosts: Int = 48

  public init() {}
}

/// Plans the evacuation of every VM of one host before maintenance.
///
/// The host is put in maintenance first in the plan's view (it takes no VMs and leaves the
/// imbalance). VMs are placed largest first (members of an affinity rule together, on one
/// host), each where the remaining hosts stay most even (``ScoringProfile/drain``), live
/// moves before any that shut a VM down. If that spread does not fit everything, a tight
/// best-fit packing is tried. If neither fits, the plan is refused, with every VM that cannot
/// go and, host by host, why. Cooldowns do not apply: a drain must empty the host. Moves are
/// ordered longest first within the concurrency limits (``PredictedTimeline``).
public enum DrainPlanner {
  /// The drain plan for the host called `host`; throws when there is no such host.
  public static func plan(
    host: String, cluster: Cluster, policy: Policy, history: MoveHistory = .none,
    options: DrainOptions = DrainOptions(), model: CostModel = CostModel()
  ) throws(PlannerError) -> MigrationPlan {
    var state = PlacementState(cluster: cluster, policy: policy, history: history)
    guard let h = state.hostPosition(host) else {
      throw .unknownHost(
        host, cluster: cluster.name, suggestion: PlannerError.closest(to: host, in: cluster.hosts.map(\.name)))
    }
    let before = state.view()
    state.setState(.maintenance, of: h)
    var search = DrainSearch(state: state, drained: h, policy: policy, options: options, model: model)
    return search.run(before: before)
  }
}

private struct DrainSearch {
  /// How an attempt ranks destinations, and in which order it tries hosts.
  struct Strategy {
    /// Ranks the candidates (the plan shows the drain profile's terms either way).
    let profile: ScoringProfile
    /// The profile's scorer whose value is known before the placement checks (it reads only
    /// the imbalance and the destination's load after the move): the bound that prunes hosts.
    let leading: any PlacementScorer
    /// Hosts are tried fullest first, not least loaded first.
    let fullestFirst: Bool
    /// Above the detail limit, a single VM is tried on a shortlist of hosts first.
    let shortlists: Bool

    /// Keep the remaining hosts even: the drain profile (with soft affinity when the policy has
    /// such rules), least loaded hosts first.
    static func spread(_ policy: Policy) -> Strategy {
      Strategy(
        profile: ScoringProfile.drain.addingSoftAffinity(for: policy), leading: BalanceScorer(), fullestFirst: false,
        shortlists: true)
    }
    /// Best fit, when the spread leaves VMs without room: fullness, fullest hosts first.
    static let pack = Strategy(profile: .pack, leading: FullnessScorer(), fullestFirst: true, shortlists: false)

    /// At most what the profile's scorers other than the leading one can add (read for every
    /// candidate host, so computed once).
    let otherTermsBound: Double

    init(profile: ScoringProfile, leading: any PlacementScorer, fullestFirst: Bool, shortlists: Bool) {
      self.profile = profile
      self.leading = leading
      self.fullestFirst = fullestFirst
      self.shortlists = shortlists
      self.otherTermsBound = profile.bound(excluding: leading.name)
    }
  }

  struct Placement {
    var vm: Int
    var to: Int
    var decision: MoveDecision
    var terms: [ScoreTerm]
    var imbalanceBefore: Double
    var imbalanceAfter: Double
    /// The soft rules it goes against, as its reason says them (empty when none).
    var softClause: String
  }

  struct Attempt {
    var state: PlacementState
    var placements: [Placement] = []
    var blocked: [Int] = []
    var blockedByFail: [Int] = []
    var rejected: [Rejection] = []
    /// For blocked VMs, the hard rules (positions in `policy.rules`) that alone refused hosts
    /// that would otherwise take them, with those hosts.
    var ruleBlocks: [Int: [Int: [Int]]] = [:]
  }

  struct Candidate {
    var host: Int
    /// The decision for the unit's first VM, then for the others of an affinity group.
    var decision: MoveDecision
    var rest: [MoveDecision]
    var value: Double
    var shutdown: Bool
    /// The destination's weighted utilization with the unit on it.
    var fullness: Double
    var imbalanceAfter: Double
    /// Cost units of the whole unit.
    var costUnits: Double
  }

  let initial: PlacementState
  let drained: Int
  let policy: Policy
  let options: DrainOptions
  let model: CostModel
  let pipeline: PlacementPipeline
  /// The spread strategy for this policy, whose profile's terms every placement shows.
  let spread: Strategy
  var cache = PredictionCache()
  /// The state of the attempt in progress (a stored property, so the hot loop reads it in place).
  var working: PlacementState

  init(state: PlacementState, drained: Int, policy: Policy, options: DrainOptions, model: CostModel) {
    self.initial = state
    self.working = state
    self.drained = drained
    self.policy = policy
    self.options = options
    self.model = model
    self.pipeline = PlacementPipeline(policy: policy, model: model)
    self.spread = .spread(policy)
  }

  mutating func run(before: ClusterView) -> MigrationPlan {
    let name = initial.host(drained).name
    var notes = ["\(name) goes into maintenance first: it takes no VMs while it drains"]
    let units = placementUnits()
    if units.isEmpty {
      notes.append("\(name) has no VMs: nothing to move")
      return plan(before: before, attempt: Attempt(state: initial), notes: notes)
    }
    let spread = attempt(self.spread, units: units)
    if spread.blocked.isEmpty { return plan(before: before, attempt: spread, notes: notes) }
    let packed = attempt(.pack, units: units)
    if packed.blocked.isEmpty {
      notes.append(
        "a balanced spread left \(spread.blocked.count) VM\(spread.blocked.count == 1 ? "" : "s") without room; "
          + "VMs are packed onto the fullest hosts that take them instead")
      return plan(before: before, attempt: packed, notes: notes)
    }
    let failed = packed.blocked.count < spread.blocked.count ? packed : spread
    return refusal(before: before, attempt: failed, total: units.joined().count, notes: notes)
  }

  /// VMs of the drained host, grouped by hard affinity rules, largest first.
  private func placementUnits() -> [[Int]] {
    let vms = initial.vmsOn[drained]
    var group = [Int: Int]()
    for v in vms { group[v] = v }
    func root(_ v: Int) -> Int {
      var r = v
      while let parent = group[r], parent != r { r = parent }
      return r
    }
    let onHost = Set(vms)
    for v in vms {
      for r in initial.rulesOf[v] where policy.rules[r].kind == .affinity && policy.rules[r].isHard {
        for other in initial.ruleMembers[r] where other != v && onHost.contains(other) {
          let a = root(v)
          let b = root(other)
          if a != b { group[max(a, b)] = min(a, b) }
        }
      }
    }
    var units: [Int: [Int]] = [:]
    for v in vms { units[root(v), default: []].append(v) }
    let name = { (v: Int) in initial.vm(v).name }
    let list = units.values.map { $0.sorted { name($0) < name($1) } }
    func size(_ unit: [Int]) -> (Bool, Double, Int) {
      let running = unit.contains { initial.vmRunning[$0] }
      return (running, unit.reduce(0) { $0 + initial.vmMemory[$1] }, unit.reduce(0) { $0 + initial.vm($1).vcpus })
    }
    return list.sorted { a, b in
      let (ra, ma, ca) = size(a)
      let (rb, mb, cb) = size(b)
      if ra != rb { return ra }
      if ma != mb { return ma > mb }
      if ca != cb { return ca > cb }
      return name(a[0]) < name(b[0])
    }
  }

  /// What the search found for one unit: the best destination, or why none takes it.
  struct Search {
    var best: Candidate?
    var tally: RefusalTally
    /// Every refused destination of each VM (when rejections are detailed).
    var rejections: [Int: [Rejection]] = [:]
  }

  private mutating func attempt(_ strategy: Strategy, units: [[Int]]) -> Attempt {
    var attempt = Attempt(state: initial)
    working = initial
    // Least loaded first (fullest first when packing): the shortlist is taken from the front,
    // and the best is found early so the bound in `canBeat` skips most hosts. Kept in order as
    // VMs are placed.
    let destinations = initial.activeHosts.filter { $0 != drained }
    var order = destinations.sorted { isBefore($0, $1, strategy) }
    let detailed = destinations.count <= options.detailedRejectionHostLimit
    for unit in units {
      let search = search(unit, order: order, strategy: strategy, detailed: detailed)
      guard let best = search.best else {
        recordBlocked(unit, search.tally, destinations: destinations, in: &attempt)
        continue
      }
      if let i = order.firstIndex(of: best.host) { order.remove(at: i) }
      place(unit, best, rejections: detailed ? search.rejections : [:], in: &attempt)
      order.insert(best.host, at: order.firstIndex { isBefore(best.host, $0, strategy) } ?? order.count)
    }
    attempt.state = working
    return attempt
  }

  /// The best destination of `unit`, trying hosts in `order`.
  ///
  /// Above the detail limit a single VM is tried on a shortlist (when the strategy has one):
  /// the least loaded hosts overall, those it reaches cheaply (no disk copy, no shutdown) and
  /// those on links as fast as its own. If the best of them is not cheap, the other cheap hosts
  /// are tried too; if nothing took it, every host is (so a refusal is complete). Hosts that
  /// cannot beat the best so far are not checked.
  private mutating func search(_ unit: [Int], order: [Int], strategy: Strategy, detailed: Bool) -> Search {
    var search = Search(tally: RefusalTally(unit: unit, checks: pipeline.checks))
    let fast = !detailed && unit.count == 1
    let v = unit[0]
    var tried: [Bool] = []
    func worthTrying(_ d: Int, _ best: Candidate?) -> Bool {
      guard fast, let best, !best.shutdown else { return true }
      return canBeat(best, vm: v, on: d, strategy)
    }
    if fast && strategy.shortlists {
      tried = [Bool](repeating: false, count: working.cluster.hosts.count)
      for d in shortlist(for: v, order: order) {
        tried[d] = true
        if worthTrying(d, search.best) { consider(unit, on: d, strategy: strategy, detailed: detailed, &search) }
      }
      if let chosen = search.best, !reachesCheaply(v, chosen.host) {
        for d in order where !tried[d] && reachesCheaply(v, d) {
          tried[d] = true
          if worthTrying(d, search.best) { consider(unit, on: d, strategy: strategy, detailed: detailed, &search) }
        }
      }
    }
    if search.best == nil {
      for d in order where (tried.isEmpty || !tried[d]) && worthTrying(d, search.best) {
        consider(unit, on: d, strategy: strategy, detailed: detailed, &search)
      }
    }
    return search
  }

  /// A unit nowhere to go: every VM of it is blocked, with its refusal counts and every host's reason.
  private mutating func recordBlocked(
    _ unit: [Int], _ tally: RefusalTally, destinations: [Int], in attempt: inout Attempt
  ) {
    for v in unit {
      attempt.blocked.append(v)
      if tally.refusedByFail.contains(v) { attempt.blockedByFail.append(v) }
      attempt.rejected.append(tally.counts(of: v).rejection(vm: initial.vm(v).name, hosts: destinations.count))
      for d in destinations {
        let move = MoveRequest(vm: v, destination: d)
        if let rejection = pipeline.rejection(move, in: working, cache: &cache) {
          attempt.rejected.append(rejection)
        }
        for r in rulesAloneRefusing(move) { attempt.ruleBlocks[v, default: [:]][r, default: []].append(d) }
      }
    }
  }

  /// The hard rules that refuse `move` when nothing else does (every check that refuses it
  /// enforces a rule): the rules the VM could only go there by breaking.
  private mutating func rulesAloneRefusing(_ move: MoveRequest) -> [Int] {
    let (rejections, _) = pipeline.allVerdicts(move, in: working, cache: &cache)
    let ruleChecks: Set<MoveCheck> = [.vmHost, .antiAffinity, .affinity]
    guard !rejections.isEmpty, rejections.allSatisfy({ ruleChecks.contains($0.check) }) else { return [] }
    return pipeline.filters.compactMap { $0.brokenRule(move, in: working) }
  }

  /// Moves `unit` to `best`'s host, scored with the drain profile's terms.
  private mutating func place(
    _ unit: [Int], _ best: Candidate, rejections: [Int: [Rejection]], in attempt: inout Attempt
  ) {
    var combined = best.decision
    combined.costUnits = best.costUnits
    let context = ScoringContext(
      move: MoveRequest(vm: unit[0], destination: best.host), decision: combined, imbalanceBefore: working.imbalance,
      imbalanceAfter: best.imbalanceAfter, destinationScoreAfter: best.fullness)
    let terms = spread.profile.terms(context, in: working)
    for (i, v) in unit.enumerated() {
      attempt.rejected += rejections[v] ?? []
      let before = working.imbalance
      let soft = PlanTail.softClause(v, to: best.host, in: working)
      working.move(v, to: best.host)
      attempt.placements.append(
        Placement(
          vm: v, to: best.host, decision: i == 0 ? best.decision : best.rest[i - 1], terms: terms,
          imbalanceBefore: before, imbalanceAfter: working.imbalance, softClause: soft))
    }
  }

  /// Host order for a strategy: least loaded first when spreading, fullest first when packing
  /// (ties by position in the cluster file).
  private func isBefore(_ a: Int, _ b: Int, _ strategy: Strategy) -> Bool {
    let sa = working.scores[a]
    let sb = working.scores[b]
    if sa != sb { return strategy.fullestFirst ? sa > sb : sa < sb }
    return a < b
  }

  /// The `candidateHosts` first hosts of `order`, the first ones `v` reaches cheaply (see
  /// ``reachesCheaply(_:_:)``), and the first ones it reaches at
  /// the full bandwidth its source link (and the policy's cap) allows: the fastest moves.
  private func shortlist(for v: Int, order: [Int]) -> [Int] {
    let limit = max(1, options.candidateHosts)
    var picked = Array(order.prefix(limit))
    var seen = Set(picked)
    let source = working.hostOf[v]
    let fullSpeed = working.bandwidth(from: source, to: source)
    var gentle = 0
    var fast = 0
    for d in order where gentle < limit || fast < limit {
      var take = false
      if gentle < limit, reachesCheaply(v, d) {
        gentle += 1
        take = true
      }
      if fast < limit, working.bandwidth(from: source, to: d) >= fullSpeed {
        fast += 1
        take = true
      }
      if take, seen.insert(d).inserted { picked.append(d) }
    }
    return picked
  }

  /// Whether `v` can move to `d` without copying disks and, when it runs, without a shutdown:
  /// `d` mounts all its storage and offers its CPU features.
  private func reachesCheaply(_ v: Int, _ d: Int) -> Bool {
    working.reachesAllStorage(v, from: d) && (!working.vmRunning[v] || working.missingFeatures(v, on: d).isEmpty)
  }

  /// Evaluates the unit on host `d` and keeps the better of it and the best so far, or records
  /// the refusal.
  private mutating func consider(
    _ unit: [Int], on d: Int, strategy: Strategy, detailed: Bool, _ search: inout Search
  ) {
    switch unit.count == 1 ? evaluate(unit[0], on: d, strategy) : evaluate(group: unit, on: d, strategy) {
    case .candidate(let candidate):
      if search.best.map({ isBetter(candidate, than: $0) }) ?? true { search.best = candidate }
    case .refused(let v, let check):
      search.tally.add(vm: v, check: checkIndex(check), refusesPlan: refusesPlan(check))
      if detailed, let rejection = pipeline.rejection(MoveRequest(vm: v, destination: d), in: working, cache: &cache) {
        search.rejections[v, default: []].append(rejection)
      }
    }
  }

  /// Whether VM `v` on host `d` could score better than `best`: the strategy's leading term
  /// (exact before any check) plus the most its other terms can add. Only valid against a
  /// `best` that needs no shutdown (one that does loses to any that does not).
  private func canBeat(_ best: Candidate, vm v: Int, on d: Int, _ strategy: Strategy) -> Bool {
    let context = ScoringContext(
      move: MoveRequest(vm: v, destination: d), decision: Self.undecided, imbalanceBefore: working.imbalance,
      imbalanceAfter: working.imbalanceAfterMoving(v, to: d), destinationScoreAfter: working.scoreAfterAdding(v, to: d))
    let leading = strategy.leading.weight * strategy.leading.value(context, in: working)
    return leading + strategy.otherTermsBound >= best.value
  }

  /// A stand-in decision for the leading scorers, which do not read it.
  static let undecided = MoveDecision(
    kind: .live, predicted: PredictedCost(seconds: 0, downtimeMs: 0, bytes: 0, rounds: 0, converges: true),
    requiresShutdown: false, whyNotLive: nil)

  /// The position of the check behind a refusal in ``PlacementPipeline/checks``.
  private func checkIndex(_ check: PlacementCheck) -> Int {
    switch check {
    case .filtered(let index): return index
    case .notLive(let failed, _):
      return pipeline.filters.count + (MoveCheck.liveEligibility.firstIndex(of: failed) ?? 2)
    case .pass: return 0
    }
  }

  private func refusesPlan(_ check: PlacementCheck) -> Bool {
    if case .notLive(_, let refuses) = check { return refuses }
    return false
  }

  /// Per VM of a unit, how many hosts each check refused.
  struct RefusalTally {
    let unit: [Int]
    let checks: [MoveCheck]
    var table: [[Int]]
    var refusedByFail = Set<Int>()

    init(unit: [Int], checks: [MoveCheck]) {
      self.unit = unit
      self.checks = checks
      self.table = unit.map { _ in [Int](repeating: 0, count: checks.count) }
    }

    mutating func add(vm: Int, check: Int, refusesPlan: Bool) {
      guard let i = unit.firstIndex(of: vm) else { return }
      table[i][check] += 1
      if refusesPlan { refusedByFail.insert(vm) }
    }

    func counts(of vm: Int) -> RefusalCounts {
      var result = RefusalCounts()
      guard let i = unit.firstIndex(of: vm) else { return result }
      for (c, count) in table[i].enumerated() { result.add(checks[c], hosts: count) }
      return result
    }
  }

  enum Outcome {
    case candidate(Candidate)
    /// VM `vm` of the unit failed `check` on this host.
    case refused(vm: Int, check: PlacementCheck)
  }

  /// One VM on host `d`: its score under the strategy, or the first check that refuses it.
  private mutating func evaluate(_ v: Int, on d: Int, _ strategy: Strategy) -> Outcome {
    let move = MoveRequest(vm: v, destination: d)
    let check = pipeline.check(move, in: working, cache: &cache)
    guard case .pass(let decision) = check else { return .refused(vm: v, check: check) }
    let after = working.imbalanceAfterMoving(v, to: d)
    let fullness = working.scoreAfterAdding(v, to: d)
    let context = ScoringContext(
      move: move, decision: decision, imbalanceBefore: working.imbalance, imbalanceAfter: after,
      destinationScoreAfter: fullness)
    return .candidate(
      Candidate(
        host: d, decision: decision, rest: [], value: strategy.profile.total(context, in: working),
        shutdown: decision.requiresShutdown, fullness: fullness, imbalanceAfter: after, costUnits: decision.costUnits))
  }

  /// An affinity group on host `d`: placed member by member, scored, then taken back.
  private mutating func evaluate(group unit: [Int], on d: Int, _ strategy: Strategy) -> Outcome {
    let before = working.imbalance
    var decisions: [MoveDecision] = []
    var refusal: Outcome?
    for v in unit {
      let check = pipeline.check(MoveRequest(vm: v, destination: d), in: working, cache: &cache)
      guard case .pass(let decision) = check else {
        refusal = .refused(vm: v, check: check)
        break
      }
      decisions.append(decision)
      working.move(v, to: d)
    }
    let after = working.imbalance
    let fullness = working.scores[d]
    for v in unit.prefix(decisions.count).reversed() { working.move(v, to: drained) }
    if let refusal { return refusal }
    var combined = decisions[0]
    combined.costUnits = decisions.reduce(0) { $0 + $1.costUnits }
    let context = ScoringContext(
      move: MoveRequest(vm: unit[0], destination: d), decision: combined, imbalanceBefore: before,
      imbalanceAfter: after, destinationScoreAfter: fullness)
    return .candidate(
      Candidate(
        host: d, decision: decisions[0], rest: Array(decisions.dropFirst()),
        value: strategy.profile.total(context, in: working), shutdown: decisions.contains { $0.requiresShutdown },
        fullness: fullness, imbalanceAfter: after, costUnits: combined.costUnits))
  }

  /// Needing no shutdown first, then the strategy's score, then the host's name.
  private func isBetter(_ a: Candidate, than b: Candidate) -> Bool {
    if a.shutdown != b.shutdown { return !a.shutdown }
    if a.value != b.value { return a.value > b.value }
    return initial.host(a.host).name < initial.host(b.host).name
  }

  // MARK: Results

  private func plan(before: ClusterView, attempt: Attempt, notes: [String]) -> MigrationPlan {
    let source = initial.host(drained).name
    var moves: [PlannedMove] = []
    for placement in attempt.placements {
      let v = placement.vm
      let d = placement.to
      let vm = initial.vm(v)
      let decision = placement.decision
      let disks = decision.kind == .cold ? initial.disksToCopy(v, to: d) : []
      moves.append(
        PlannedMove(
          vm: vm.name, from: source, to: initial.host(d).name, kind: decision.kind,
          reason: reasonText(placement, disks: disks), score: placement.terms, predicted: decision.predicted,
          requiresShutdown: decision.requiresShutdown, disksToCopy: disks))
    }
    let (scheduled, makespan) = PlanTail.ordered(
      moves, decisions: attempt.placements.map(\.decision),
      placements: attempt.placements.map { (vm: $0.vm, to: $0.to) }, initial: initial, model: model)
    return MigrationPlan(
      trigger: .drain, cluster: initial.cluster.name, policy: policy.name, moves: scheduled, rejected: attempt.rejected,
      before: before, after: attempt.state.view(), predictedMakespanSeconds: makespan, notes: notes)
  }

  private func reasonText(_ placement: Placement, disks: [Disk]) -> String {
    let source = initial.host(drained).name
    let destination = initial.host(placement.to).name
    return "evacuating \(source) for maintenance; \(destination) keeps the other hosts most even "
      + "(imbalance \(Wording.imbalance(placement.imbalanceBefore)) → \(Wording.imbalance(placement.imbalanceAfter)))"
      + placement.softClause
      + PlanTail.kindClause(placement.decision, vm: initial.vm(placement.vm), destination: destination, disks: disks)
  }

  private func refusal(before: ClusterView, attempt: Attempt, total: Int, notes: [String]) -> MigrationPlan {
    let source = initial.host(drained).name
    let names = attempt.blocked.map { initial.vm($0).name }
    var text =
      "cannot drain \(source): \(names.count) of \(total) VM\(total == 1 ? "" : "s") "
      + "\(names.count == 1 ? "has" : "have") nowhere to go (\(Wording.list(names, limit: 20))); nothing will move"
    if !attempt.blockedByFail.isEmpty {
      let failed = attempt.blockedByFail.map { initial.vm($0).name }
      text += "; the policy (liveIneligible: fail) refuses to move \(Wording.list(failed)) other than live"
    }
    for v in attempt.blocked {
      guard let blocks = attempt.ruleBlocks[v], !blocks.isEmpty else { continue }
      let rules = blocks.keys.sorted().map { r in
        let hosts = (blocks[r] ?? []).map { initial.host($0).name }
        return "\(PlanTail.ruleTitle(policy.rules[r])) (\(Wording.list(hosts)))"
      }
      text += "; \(initial.vm(v).name) could only go by breaking hard \(Wording.list(rules))"
    }
    return MigrationPlan(
      trigger: .drain, cluster: initial.cluster.name, policy: policy.name, moves: [],
      rejected: attempt.rejected.filter { rejection in names.contains(rejection.vm) }, refusal: text,
      before: before, after: before, predictedMakespanSeconds: 0, notes: notes)
  }
}
