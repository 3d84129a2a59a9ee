import BallastModel

/// Options of the drain planner.
public struct DrainOptions: Sendable, Hashable {
  /// Up to this many active hosts, every destination rejected for a moved VM is listed; above
  /// it, one summary per VM (counts per filter). Blocked VMs are always listed host by host.
  public var detailedRejectionHostLimit: Int = 64

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
/// ordered longest first within the concurrency limits (``MoveScheduler``).
public enum DrainPlanner {
  /// The drain plan for the host called `host`; throws when there is no such host.
  public static func plan(
    host: String, cluster: Cluster, policy: Policy, history: MoveHistory = .none,
    options: DrainOptions = DrainOptions()
  ) throws(PlannerError) -> MigrationPlan {
    var state = PlacementState(cluster: cluster, policy: policy, history: history)
    guard let h = state.hostPosition(host) else {
      throw .unknownHost(
        host, cluster: cluster.name, suggestion: PlannerError.closest(to: host, in: cluster.hosts.map(\.name)))
    }
    let before = state.view()
    state.setState(.maintenance, of: h)
    var search = DrainSearch(state: state, drained: h, policy: policy, options: options)
    return search.run(before: before)
  }
}

private struct DrainSearch {
  enum Strategy { case spread, pack }

  struct Placement {
    var vm: Int
    var to: Int
    var decision: MoveDecision
    var terms: [ScoreTerm]
    var imbalanceBefore: Double
    var imbalanceAfter: Double
  }

  struct Attempt {
    var state: PlacementState
    var placements: [Placement] = []
    var blocked: [Int] = []
    var blockedByFail: [Int] = []
    var rejected: [Rejection] = []
  }

  struct Candidate {
    var host: Int
    var decisions: [MoveDecision]
    var context: ScoringContext
    var value: Double
    var shutdown: Bool
    var fullness: Double
    var imbalanceAfter: Double
  }

  let initial: PlacementState
  let drained: Int
  let policy: Policy
  let options: DrainOptions
  let pipeline: PlacementPipeline
  var cache = PredictionCache()

  init(state: PlacementState, drained: Int, policy: Policy, options: DrainOptions) {
    self.initial = state
    self.drained = drained
    self.policy = policy
    self.options = options
    self.pipeline = PlacementPipeline(policy: policy)
  }

  mutating func run(before: ClusterView) -> MigrationPlan {
    let name = initial.host(drained).name
    var notes = ["\(name) goes into maintenance first: it takes no VMs while it drains"]
    let units = placementUnits()
    if units.isEmpty {
      notes.append("\(name) has no VMs: nothing to move")
      return plan(before: before, attempt: Attempt(state: initial), notes: notes)
    }
    let spread = attempt(.spread, units: units)
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

  /// VMs of the drained host, grouped by affinity rules, largest first.
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
      for r in initial.rulesOf[v] where policy.rules[r].kind == .affinity {
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

  private mutating func attempt(_ strategy: Strategy, units: [[Int]]) -> Attempt {
    var attempt = Attempt(state: initial)
    let destinations = initial.activeHosts.filter { $0 != drained }
    let detailed = destinations.count <= options.detailedRejectionHostLimit
    for unit in units {
      var best: Candidate?
      var rejections: [Int: [Rejection]] = [:]
      var counts: [Int: [String: Int]] = [:]
      var refusedByFail = Set<Int>()
      for d in destinations {
        switch evaluate(unit, on: d, in: &attempt.state) {
        case .success(let candidate):
          if best.map({ isBetter(candidate, than: $0, strategy) }) ?? true { best = candidate }
        case .failure(let refusal):
          counts[refusal.vm, default: [:]][refusal.filter, default: 0] += 1
          if refusal.refusesPlan { refusedByFail.insert(refusal.vm) }
          if detailed {
            rejections[refusal.vm, default: []].append(refusal.rejection(&cache, attempt.state, pipeline))
          }
        }
      }
      guard let best else {
        // Nowhere to go: list every host's reason for every VM of the unit.
        for v in unit {
          attempt.blocked.append(v)
          if refusedByFail.contains(v) { attempt.blockedByFail.append(v) }
          attempt.rejected.append(blockedSummary(v, counts: counts[v] ?? [:], hosts: destinations.count))
          for d in destinations {
            if let rejection = pipeline.rejection(MoveRequest(vm: v, destination: d), in: attempt.state, cache: &cache)
            {
              attempt.rejected.append(rejection)
            }
          }
        }
        continue
      }
      let terms = ScoringProfile.drain.terms(best.context, in: attempt.state)
      for (i, v) in unit.enumerated() {
        if detailed {
          attempt.rejected += rejections[v] ?? []
        } else if let summary = placedSummary(v, counts: counts[v] ?? [:], hosts: destinations.count) {
          attempt.rejected.append(summary)
        }
        let before = attempt.state.imbalance
        attempt.state.move(v, to: best.host)
        attempt.placements.append(
          Placement(
            vm: v, to: best.host, decision: best.decisions[i], terms: terms, imbalanceBefore: before,
            imbalanceAfter: attempt.state.imbalance))
      }
    }
    return attempt
  }

  /// The first check that refused one VM of a unit on one host.
  struct Refusal: Error {
    var vm: Int
    var host: Int
    var filter: String
    var refusesPlan: Bool

    func rejection(_ cache: inout PredictionCache, _ state: PlacementState, _ pipeline: PlacementPipeline) -> Rejection
    {
      pipeline.rejection(MoveRequest(vm: vm, destination: host), in: state, cache: &cache)
        ?? Rejection(vm: state.vm(vm).name, host: state.host(host).name, filter: filter, reason: "refused")
    }
  }

  /// Places the unit on `d` in `state` and takes it back, returning its score or the first refusal.
  private mutating func evaluate(
    _ unit: [Int], on d: Int, in state: inout PlacementState
  ) -> Result<Candidate, Refusal> {
    let before = state.imbalance
    var decisions: [MoveDecision] = []
    var placed: [Int] = []
    var refusal: Refusal?
    for v in unit {
      let move = MoveRequest(vm: v, destination: d)
      let check = pipeline.check(move, in: state, cache: &cache)
      guard case .pass(let decision) = check else {
        var refusesPlan = false
        if case .notLive(_, let refuses) = check { refusesPlan = refuses }
        refusal = Refusal(vm: v, host: d, filter: pipeline.filterName(check) ?? "placement", refusesPlan: refusesPlan)
        break
      }
      decisions.append(decision)
      if unit.count > 1 {
        state.move(v, to: d)
        placed.append(v)
      }
    }
    let after: Double
    let scoreAfter: Double
    if unit.count == 1, refusal == nil {
      after = state.imbalanceAfterMoving(unit[0], to: d)
      scoreAfter = state.scoreAfterAdding(unit[0], to: d)
    } else {
      after = state.imbalance
      scoreAfter = state.scores[d]
    }
    for v in placed.reversed() { state.move(v, to: drained) }
    if let refusal { return .failure(refusal) }
    var combined = decisions[0]
    combined.costUnits = decisions.reduce(0) { $0 + $1.costUnits }
    let context = ScoringContext(
      move: MoveRequest(vm: unit[0], destination: d), decision: combined, imbalanceBefore: before,
      imbalanceAfter: after, destinationScoreAfter: scoreAfter)
    return .success(
      Candidate(
        host: d, decisions: decisions, context: context, value: ScoringProfile.drain.total(context, in: state),
        shutdown: decisions.contains { $0.requiresShutdown }, fullness: scoreAfter, imbalanceAfter: after))
  }

  private func isBetter(_ a: Candidate, than b: Candidate, _ strategy: Strategy) -> Bool {
    if a.shutdown != b.shutdown { return !a.shutdown }
    switch strategy {
    case .spread:
      if a.value != b.value { return a.value > b.value }
    case .pack:
      if a.fullness != b.fullness { return a.fullness > b.fullness }
    }
    return initial.host(a.host).name < initial.host(b.host).name
  }

  private func blockedSummary(_ v: Int, counts: [String: Int], hosts: Int) -> Rejection {
    let vm = initial.vm(v).name
    guard hosts > 0 else {
      return Rejection(vm: vm, host: nil, filter: "host-state", reason: "no other active host to take it")
    }
    let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
    return Rejection(
      vm: vm, host: nil, filter: sorted.first?.key ?? "placement",
      reason: "none of the \(hosts) other active hosts takes it ("
        + sorted.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")
  }

  private func placedSummary(_ v: Int, counts: [String: Int], hosts: Int) -> Rejection? {
    guard !counts.isEmpty else { return nil }
    let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
    let refused = counts.values.reduce(0, +)
    return Rejection(
      vm: initial.vm(v).name, host: nil, filter: sorted.first?.key ?? "placement",
      reason: "\(refused) of \(hosts) other active hosts refused it ("
        + sorted.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "); run --explain for each host's reason")
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
    let dependencies = MoveDependencies.compute(attempt.placements.map { ($0.vm, $0.to) }, initial: initial)
    for i in moves.indices { moves[i].dependsOn = dependencies[i] }
    let (scheduled, makespan) = MoveScheduler(concurrency: policy.concurrency).schedule(moves)
    return MigrationPlan(
      trigger: .drain, cluster: initial.cluster.name, policy: policy.name, moves: scheduled, rejected: attempt.rejected,
      before: before, after: attempt.state.view(), predictedMakespanSeconds: makespan, notes: notes)
  }

  private func reasonText(_ placement: Placement, disks: [Disk]) -> String {
    let source = initial.host(drained).name
    let destination = initial.host(placement.to).name
    var text =
      "evacuating \(source) for maintenance; \(destination) keeps the other hosts most even "
      + "(imbalance \(Wording.imbalance(placement.imbalanceBefore)) → \(Wording.imbalance(placement.imbalanceAfter)))"
    let predicted = placement.decision.predicted
    switch placement.decision.kind {
    case .live:
      text +=
        "; live in ~\(Wording.duration(predicted.seconds)) with a \(Wording.duration(predicted.downtimeMs / 1000)) pause"
    case .cold:
      if let why = placement.decision.whyNotLive {
        text +=
          "; cold because \(why.sentence(vm: initial.vm(placement.vm).name, host: destination)): "
          + "down ~\(Wording.duration(predicted.downtimeMs / 1000))"
      } else {
        text += "; cold, it is \(initial.vm(placement.vm).state.rawValue)"
      }
      if !disks.isEmpty {
        text += "; copies \(Wording.bytes(disks.reduce(0) { $0 + $1.size.double })) of disks"
      }
    }
    return text
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
    return MigrationPlan(
      trigger: .drain, cluster: initial.cluster.name, policy: policy.name, moves: [],
      rejected: attempt.rejected.filter { rejection in names.contains(rejection.vm) }, refusal: text,
      before: before, after: before, predictedMakespanSeconds: 0, notes: notes)
  }
}
