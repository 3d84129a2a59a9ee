import BallastModel

/// Limits that keep the balance search fast on large clusters.
public struct BalanceOptions: Sendable, Hashable {
  /// Most loaded hosts whose VMs are tried each round.
  public var sourceHosts: Int = 24
  /// Least loaded hosts tried as destinations each round, both overall and among the hosts
  /// that mount a VM's shared storage (so live moves are found in large, partitioned clusters).
  public var destinationHosts: Int = 24
  /// Up to this many active hosts, every destination rejected for a moved VM is listed;
  /// above it, only those among the destinations the search tried.
  public var detailedRejectionHostLimit: Int = 64

  public init() {}
}

/// Plans moves that even out the cluster: pure, deterministic (ties broken by name).
///
/// When the imbalance (``Imbalance``, policy weights) is above `policy.threshold`, each round
/// takes the move with the highest imbalance reduction per unit of migration cost
/// (``BalancePerCostScorer``, like DRS's cost-benefit) among running VMs on the most loaded
/// hosts and destinations among the least loaded ones, keeps it if it removes at least
/// `policy.effectiveMinImprovement`, applies it and repeats, up to `policy.maxMovesPerRound`.
/// Each trial move is re-evaluated in O(1) with ``ImbalanceAccumulator``. A VM moves at most
/// once per plan (so it never returns to a host it left in the plan); VMs inside their
/// cooldown stay put; stopped and suspended VMs are not load and are not moved. Moves that
/// need room another frees get `dependsOn`; all are ordered by ``MoveScheduler``.
public enum BalancePlanner {
  /// The balance plan for `cluster` under `policy`, given past moves and migrations in flight.
  public static func plan(
    cluster: Cluster, policy: Policy, history: MoveHistory = .none, options: BalanceOptions = BalanceOptions()
  ) -> MigrationPlan {
    var search = BalanceSearch(cluster: cluster, policy: policy, history: history, options: options)
    return search.run()
  }
}

/// One best move found in a round.
private struct Choice {
  var vm: Int
  var destination: Int
  var value: Double
  var decision: MoveDecision
  var terms: [ScoreTerm]
  var imbalanceAfter: Double
}

private struct BalanceSearch {
  var state: PlacementState
  let initial: PlacementState
  let policy: Policy
  let history: MoveHistory
  let options: BalanceOptions
  let pipeline: PlacementPipeline
  let profile = ScoringProfile.balance
  var cache = PredictionCache()
  var moved: [Bool]
  var cooling: [Double?]
  var moves: [PlannedMove] = []
  var movedVMs: [(vm: Int, to: Int)] = []
  var rejected: [Rejection] = []
  var notes: [String] = []

  init(cluster: Cluster, policy: Policy, history: MoveHistory, options: BalanceOptions) {
    let state = PlacementState(cluster: cluster, policy: policy, history: history)
    self.state = state
    self.initial = state
    self.policy = policy
    self.history = history
    self.options = options
    self.pipeline = PlacementPipeline(policy: policy)
    self.moved = [Bool](repeating: false, count: cluster.vms.count)
    var cooling = [Double?](repeating: nil, count: cluster.vms.count)
    for name in history.lastMove.keys {
      if let v = state.vmPosition(name) {
        cooling[v] = history.cooldownRemaining(vm: name, cooldown: policy.cooldown.seconds)
      }
    }
    self.cooling = cooling
  }

  mutating func run() -> MigrationPlan {
    let before = initial.view()
    let active = state.activeHosts
    let threshold = policy.threshold
    if active.count < 2 {
      notes.append("fewer than two active hosts: nothing to balance")
      return finish(before: before)
    }
    if state.imbalance <= threshold {
      notes.append(
        "imbalance \(Wording.imbalance(state.imbalance)) is within the threshold \(Wording.imbalance(threshold)): "
          + "nothing to do")
      return finish(before: before)
    }
    let firstSources = hostsByLoad().prefix(options.sourceHosts)
    recordCooldowns(on: Array(firstSources))
    let minimum = policy.effectiveMinImprovement
    for _ in 0..<max(0, policy.maxMovesPerRound) {
      guard let choice = bestMove(minimumGain: minimum) else {
        notes.append(
          moves.isEmpty
            ? "no move removes at least \(Wording.imbalance(minimum)) of imbalance "
              + "(policy minImprovement at aggressiveness \(policy.aggressiveness))"
            : "stopped after \(moves.count) move\(moves.count == 1 ? "" : "s"): no further move removes at least "
              + "\(Wording.imbalance(minimum)) of imbalance")
        break
      }
      commit(choice)
    }
    if moves.count == policy.maxMovesPerRound, policy.maxMovesPerRound > 0 {
      notes.append("stopped at the policy's \(policy.maxMovesPerRound) moves per round")
    }
    recordStuck(on: Array(firstSources))
    return finish(before: before)
  }

  // MARK: Search

  /// Active hosts, most loaded first (ties by name).
  private func hostsByLoad() -> [Int] {
    let scores = state.scores
    let names = state.cluster.hosts
    return state.activeHosts.sorted {
      scores[$0] != scores[$1] ? scores[$0] > scores[$1] : names[$0].name < names[$1].name
    }
  }

  private func movable(_ v: Int) -> Bool {
    state.vmRunning[v] && !moved[v] && cooling[v] == nil
  }

  private mutating func bestMove(minimumGain: Double) -> Choice? {
    let byLoad = hostsByLoad()
    let sources = byLoad.prefix(options.sourceHosts)
    let leastLoaded = Array(byLoad.reversed().prefix(options.destinationHosts))
    var isGlobal = [Bool](repeating: false, count: state.cluster.hosts.count)
    for d in leastLoaded { isGlobal[d] = true }
    var storeCandidates: [Int: [Int]] = [:]
    let imbalance = state.imbalance
    var best: Choice?

    for s in sources {
      for v in state.vmsOn[s] where movable(v) {
        var destinations = leastLoaded
        destinations += storeDestinations(for: v, excluding: isGlobal, memo: &storeCandidates)
        for d in destinations where d != s {
          let after = state.imbalanceAfterMoving(v, to: d)
          let gain = imbalance - after
          guard gain >= minimumGain else { continue }
          let preference = PreferenceScorer.penalty(vm: v, destination: d, in: state)
          if let best, gain * 100 + preference + 0.01 < best.value { continue }
          let move = MoveRequest(vm: v, destination: d)
          guard case .pass(let decision) = pipeline.check(move, in: state, cache: &cache) else { continue }
          let context = ScoringContext(
            move: move, decision: decision, imbalanceBefore: imbalance, imbalanceAfter: after,
            destinationScoreAfter: state.scoreAfterAdding(v, to: d))
          let terms = profile.terms(context, in: state)
          let candidate = Choice(
            vm: v, destination: d, value: terms.total, decision: decision, terms: terms, imbalanceAfter: after)
          if best.map({ isBetter(candidate, than: $0) }) ?? true { best = candidate }
        }
      }
    }
    return best
  }

  private func isBetter(_ a: Choice, than b: Choice) -> Bool {
    if a.value != b.value { return a.value > b.value }
    let vmA = state.vm(a.vm).name
    let vmB = state.vm(b.vm).name
    if vmA != vmB { return vmA < vmB }
    return state.host(a.destination).name < state.host(b.destination).name
  }

  /// The least loaded active hosts mounting every shared datastore of `v` (none when a disk is
  /// local: such a VM cannot go live anywhere, and the overall least loaded hosts cover it).
  private func storeDestinations(for v: Int, excluding global: [Bool], memo: inout [Int: [Int]]) -> [Int] {
    let stores = state.vmStores[v]
    guard !stores.isEmpty, stores.allSatisfy({ $0 >= 0 && state.datastoreShared[$0] }) else { return [] }
    guard let rarest = stores.min(by: { state.storeMembers[$0].count < state.storeMembers[$1].count }) else {
      return []
    }
    let sorted: [Int]
    if let known = memo[rarest] {
      sorted = known
    } else {
      let scores = state.scores
      let hosts = state.cluster.hosts
      sorted = state.storeMembers[rarest].filter { state.isActive($0) }.sorted {
        scores[$0] != scores[$1] ? scores[$0] < scores[$1] : hosts[$0].name < hosts[$1].name
      }
      memo[rarest] = sorted
    }
    var picked: [Int] = []
    for h in sorted where !global[h] && stores.allSatisfy({ state.hostMounts[h].contains($0) }) {
      picked.append(h)
      if picked.count >= options.destinationHosts { break }
    }
    return picked
  }

  // MARK: Commit

  private mutating func commit(_ choice: Choice) {
    let v = choice.vm
    let d = choice.destination
    let s = state.hostOf[v]
    recordRejections(for: v, chosen: d)
    let vm = state.vm(v)
    let reason = reasonText(choice, source: s)
    let disks = choice.decision.kind == .cold ? state.disksToCopy(v, to: d) : []
    moves.append(
      PlannedMove(
        vm: vm.name, from: state.host(s).name, to: state.host(d).name, kind: choice.decision.kind, reason: reason,
        score: choice.terms, predicted: choice.decision.predicted, requiresShutdown: choice.decision.requiresShutdown,
        disksToCopy: disks))
    movedVMs.append((v, d))
    moved[v] = true
    state.move(v, to: d)
  }

  private func reasonText(_ choice: Choice, source s: Int) -> String {
    let d = choice.destination
    let v = choice.vm
    let source = state.host(s).name
    let destination = state.host(d).name
    let sourceAfter = state.scores[s] - state.contribution(of: v, on: s)
    let destinationAfter = state.scoreAfterAdding(v, to: d)
    var text =
      "imbalance \(Wording.imbalance(state.imbalance)) → \(Wording.imbalance(choice.imbalanceAfter)): "
      + "\(source) \(Wording.percent(state.scores[s])) → \(Wording.percent(sourceAfter)), "
      + "\(destination) \(Wording.percent(state.scores[d])) → \(Wording.percent(destinationAfter)) weighted load"
    let predicted = choice.decision.predicted
    switch choice.decision.kind {
    case .live:
      text +=
        "; live in ~\(Wording.duration(predicted.seconds)) with a \(Wording.duration(predicted.downtimeMs / 1000)) pause"
      if predicted.throttle > 0 { text += " (guest throttled to \(Wording.percent(1 - predicted.throttle)))" }
    case .cold:
      let why = choice.decision.whyNotLive?.sentence(vm: state.vm(v).name, host: destination) ?? "it is off"
      text += "; cold because \(why): down ~\(Wording.duration(predicted.downtimeMs / 1000))"
    }
    return text
  }

  // MARK: Rejections

  /// Destinations that were considered for `v` and refused, before it moves to `chosen`.
  private mutating func recordRejections(for v: Int, chosen: Int) {
    let active = state.activeHosts
    let candidates: [Int]
    if active.count <= options.detailedRejectionHostLimit {
      candidates = active
    } else {
      let byLoad = hostsByLoad()
      var memo: [Int: [Int]] = [:]
      var global = [Bool](repeating: false, count: state.cluster.hosts.count)
      let least = Array(byLoad.reversed().prefix(options.destinationHosts))
      for d in least { global[d] = true }
      candidates = least + storeDestinations(for: v, excluding: global, memo: &memo)
    }
    for d in candidates where d != chosen && d != state.hostOf[v] {
      if let rejection = pipeline.rejection(MoveRequest(vm: v, destination: d), in: state, cache: &cache) {
        rejected.append(rejection)
      }
    }
  }

  private mutating func recordCooldowns(on sources: [Int]) {
    for s in sources {
      for v in state.vmsOn[s] where state.vmRunning[v] {
        guard let remaining = cooling[v], let last = history.lastMove[state.vm(v).name] else { continue }
        let ago = max(0, history.now - last.at)
        rejected.append(
          Rejection(
            vm: state.vm(v).name, host: nil, filter: "cooldown",
            reason: "moved \(Wording.duration(ago)) ago from \(last.from); it stays put for the "
              + "\(policy.cooldown) cooldown (\(Wording.duration(remaining)) left)"))
      }
    }
  }

  /// Running VMs on the most loaded hosts that no destination accepts at all.
  private mutating func recordStuck(on sources: [Int]) {
    let active = state.activeHosts
    guard active.count <= options.detailedRejectionHostLimit else { return }
    for s in sources {
      for v in state.vmsOn[s] where movable(v) {
        var counts: [String: Int] = [:]
        var example: Rejection?
        var accepted = false
        for d in active where d != s {
          let move = MoveRequest(vm: v, destination: d)
          let check = pipeline.check(move, in: state, cache: &cache)
          if case .pass = check {
            accepted = true
            break
          }
          if let name = pipeline.filterName(check) { counts[name, default: 0] += 1 }
          if example == nil { example = pipeline.rejection(move, in: state, cache: &cache) }
        }
        guard !accepted, let example else { continue }
        let summary = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        rejected.append(
          Rejection(
            vm: state.vm(v).name, host: nil, filter: summary.first?.key ?? example.filter,
            reason: "no other host accepts it ("
              + summary.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
              + "); e.g. \(example.host ?? "?"): \(example.reason)"))
      }
    }
  }

  // MARK: Result

  private func finish(before: ClusterView) -> MigrationPlan {
    let dependencies = MoveDependencies.compute(movedVMs, initial: initial)
    var withDependencies = moves
    for i in withDependencies.indices { withDependencies[i].dependsOn = dependencies[i] }
    let (scheduled, makespan) = MoveScheduler(concurrency: policy.concurrency).schedule(withDependencies)
    return MigrationPlan(
      trigger: .balance, cluster: state.cluster.name, policy: policy.name, moves: scheduled,
      rejected: rejected, before: before, after: state.view(), predictedMakespanSeconds: makespan, notes: notes)
  }
}
