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
  /// Partial plans kept at each depth of the beam search (1 = plain greedy).
  public var beamWidth: Int = 4

  public init() {}
}

/// Plans moves that even out the cluster: pure, deterministic (ties broken by name).
///
/// When the imbalance (``Imbalance``, policy weights) is above `policy.threshold`, moves are
/// chosen round by round for the highest imbalance reduction per unit of migration cost
/// (``BalancePerCostScorer``, like DRS's cost-benefit), among running VMs on the
/// `sourceHosts` most loaded hosts and destinations among the `destinationHosts` least loaded
/// ones (overall and among those sharing the VM's storage), each removing at least
/// `policy.effectiveMinImprovement` per unit of its cost (so a move that shuts a VM down must
/// bring several times the minimum), up to `policy.maxMovesPerRound` or until the imbalance is
/// within the threshold. A plain greedy choice
/// can block a better pair of moves, so a small beam search keeps the `beamWidth` best partial
/// plans at each round and returns the one with the highest total value. Each trial move is
/// re-evaluated in O(1) with ``ImbalanceAccumulator``. A VM moves at most
/// once per plan (so it never returns to a host it left in the plan); VMs inside their
/// cooldown stay put; stopped and suspended VMs are not load and are not moved. Moves that
/// need room another frees get `dependsOn`; all are ordered by ``PredictedTimeline``.
public enum BalancePlanner {
  /// The balance plan for `cluster` under `policy`, given past moves and migrations in flight.
  /// - Throws: ``PlannerError/inconsistentPlan(_:)`` when the moves the search chose do not
  ///   replay from the snapshot: a failure of the planner, never shown as "nothing to move".
  public static func plan(
    cluster: Cluster, policy: Policy, history: MoveHistory = .none, options: BalanceOptions = BalanceOptions()
  ) throws -> MigrationPlan {
    var search = BalanceSearch(cluster: cluster, policy: policy, history: history, options: options)
    return try search.run()
  }
}

/// One move found by the search.
struct Choice {
  var vm: Int
  var destination: Int
  var value: Double
}

/// The plan's moves once replayed from the snapshot, with their reasons and scores.
struct Replay {
  var moves: [PlannedMove] = []
  /// Each move's VM and destination positions.
  var placements: [(vm: Int, to: Int)] = []
  var rejected: [Rejection] = []
  var final: PlacementState
}

struct BalanceSearch {
  var state: PlacementState
  let initial: PlacementState
  let policy: Policy
  let history: MoveHistory
  let options: BalanceOptions
  let pipeline: PlacementPipeline
  let profile = ScoringProfile.balance
  /// What the scorers other than balance-per-cost and preference can add at most: the bound
  /// that lets the search skip a candidate before its (costly) checks.
  let otherTermsBound = ScoringProfile.balance.bound(
    excluding: [BalancePerCostScorer().name, PreferenceScorer().name])
  let minimumGain: Double
  var cache = PredictionCache()
  /// VMs moved by the partial plan being extended.
  var moved: [Bool]
  let cooling: [Double?]
  var chosen: [Choice] = []
  var rejected: [Rejection] = []
  var notes: [String] = []

  init(cluster: Cluster, policy: Policy, history: MoveHistory, options: BalanceOptions) {
    let state = PlacementState(cluster: cluster, policy: policy, history: history)
    self.state = state
    self.initial = state
    self.policy = policy
    self.history = history
    self.options = options
    self.minimumGain = policy.minimumGain(activeHosts: state.activeHosts.count)
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

  mutating func run() throws -> MigrationPlan {
    let before = initial.view()
    if initial.activeHosts.count < 2 {
      notes.append("fewer than two active hosts: nothing to balance")
      return finish(before: before, replay: Replay(final: initial))
    }
    if initial.imbalance <= policy.threshold {
      notes.append(
        "imbalance \(Wording.imbalance(initial.imbalance)) is within the threshold "
          + "\(Wording.imbalance(policy.threshold)): nothing to do")
      return finish(before: before, replay: Replay(final: initial))
    }
    let firstSources = Array(hostsByLoad(state).prefix(options.sourceHosts))
    recordCooldowns(on: firstSources)

    let limit = max(0, policy.maxMovesPerRound)
    chosen = beamSearch(depth: limit)
    let replay = try self.replay(chosen)
    let count = replay.moves.count
    let minimum = Wording.imbalance(minimumGain)
    if count == 0 {
      notes.append(
        "no move removes at least \(minimum) of imbalance per unit of its cost "
          + "(policy minImprovement at aggressiveness \(policy.aggressiveness))")
    } else if replay.final.imbalance <= policy.threshold {
      notes.append(
        "stopped after \(count) move\(count == 1 ? "" : "s"): the imbalance is within the threshold "
          + "\(Wording.imbalance(policy.threshold))")
    } else if count >= limit {
      notes.append("stopped at the policy's \(limit) moves per round")
    } else {
      notes.append(
        "stopped after \(count) move\(count == 1 ? "" : "s"): no further move removes at least \(minimum) "
          + "of imbalance per unit of its cost")
    }
    rejected += replay.rejected
    recordStuck(on: firstSources, in: replay.final)
    return finish(before: before, replay: replay)
  }

  // MARK: Beam search

  /// A partial plan in the beam: its moves and the sum of their values.
  private struct Partial {
    var moves: [Choice]
    var total: Double
    /// The set of moves, sorted, to merge orderings that reach the same cluster.
    var key: [Int]
  }

  /// Beam search over greedy rounds: at each depth, every kept partial plan is extended by its
  /// `beamWidth` best next moves and the `beamWidth` best extensions (by total value) are kept.
  /// Width 1 is the plain greedy. Returns the best plan found at any depth.
  private mutating func beamSearch(depth: Int) -> [Choice] {
    let width = max(1, options.beamWidth)
    let hostCount = state.cluster.hosts.count
    guard depth > 0 else { return [] }
    var beam = [Partial(moves: [], total: 0, key: [])]
    var best = beam[0]
    for _ in 0..<depth {
      var extensions: [Partial] = []
      var seen = Set<[Int]>()
      for partial in beam {
        for choice in partial.moves {
          state.move(choice.vm, to: choice.destination)
          moved[choice.vm] = true
        }
        // A partial plan that brought the imbalance within the threshold is complete.
        let next = state.imbalance > policy.threshold ? bestMoves(count: width) : []
        for next in next {
          let key = (partial.key + [next.vm * hostCount + next.destination]).sorted()
          guard seen.insert(key).inserted else { continue }
          extensions.append(Partial(moves: partial.moves + [next], total: partial.total + next.value, key: key))
        }
        for choice in partial.moves.reversed() {
          state.move(choice.vm, to: initial.hostOf[choice.vm])
          moved[choice.vm] = false
        }
      }
      guard !extensions.isEmpty else { break }
      extensions.sort { $0.total != $1.total ? $0.total > $1.total : $0.key.lexicographicallyPrecedes($1.key) }
      beam = Array(extensions.prefix(width))
      if let top = beam.first, top.total > best.total { best = top }
    }
    return best.moves
  }

  // MARK: Search

  /// Active hosts, most loaded first (ties by name).
  private func hostsByLoad(_ state: PlacementState) -> [Int] {
    let scores = state.scores
    let hosts = state.cluster.hosts
    return state.activeHosts.sorted {
      scores[$0] != scores[$1] ? scores[$0] > scores[$1] : hosts[$0].name < hosts[$1].name
    }
  }

  private func movable(_ v: Int) -> Bool {
    state.vmRunning[v] && !moved[v] && cooling[v] == nil
  }

  /// The `count` best moves from the current state, best first.
  private mutating func bestMoves(count: Int) -> [Choice] {
    let byLoad = hostsByLoad(state)
    let sources = byLoad.prefix(options.sourceHosts)
    let leastLoaded = Array(byLoad.reversed().prefix(options.destinationHosts))
    var isGlobal = [Bool](repeating: false, count: state.cluster.hosts.count)
    for d in leastLoaded { isGlobal[d] = true }
    var storeCandidates: [Int: [Int]] = [:]
    let imbalance = state.imbalance
    var top: [Choice] = []
    let keep = max(1, count)

    for s in sources {
      for v in state.vmsOn[s] where movable(v) {
        var destinations = leastLoaded
        destinations += storeDestinations(for: v, in: state, excluding: isGlobal, memo: &storeCandidates)
        for d in destinations where d != s {
          let after = state.imbalanceAfterMoving(v, to: d)
          let gain = imbalance - after
          guard gain >= minimumGain else { continue }
          let penalty = PreferenceScorer.penalty(vm: v, destination: d, in: state)
          // Cost is at least one unit, so balance-per-cost is at most the gain in points; the
          // other terms add at most their bound: skip what cannot beat the worst kept.
          if top.count == keep, let worst = top.last,
            profile.weight(of: BalancePerCostScorer().name) * gain * 100
              + profile.weight(of: PreferenceScorer().name) * penalty + otherTermsBound < worst.value
          {
            continue
          }
          let move = MoveRequest(vm: v, destination: d)
          guard case .pass(let decision) = pipeline.check(move, in: state, cache: &cache),
            gain >= minimumGain * decision.costUnits
          else { continue }
          let context = ScoringContext(
            move: move, decision: decision, imbalanceBefore: imbalance, imbalanceAfter: after,
            destinationScoreAfter: state.scoreAfterAdding(v, to: d))
          let candidate = Choice(
            vm: v, destination: d, value: profile.total(context, in: state))
          if top.count < keep || isBetter(candidate, than: top[top.count - 1]) {
            let at = top.firstIndex { isBetter(candidate, than: $0) } ?? top.count
            top.insert(candidate, at: at)
            if top.count > keep { top.removeLast() }
          }
        }
      }
    }
    return top
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
  private func storeDestinations(
    for v: Int, in state: PlacementState, excluding global: [Bool], memo: inout [Int: [Int]]
  ) -> [Int] {
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

  // MARK: Replay

  /// Replays `choices` from the snapshot, checking each move again and building its reason,
  /// score and the rejections of the other destinations.
  /// - Throws: ``PlannerError/inconsistentPlan(_:)`` when one no longer passes its checks or
  ///   gains less than the minimum at its place in the order (the search and the checks disagree).
  mutating func replay(_ choices: [Choice]) throws -> Replay {
    var replay = Replay(final: initial)
    for choice in choices {
      let v = choice.vm
      let d = choice.destination
      let current = replay.final
      let move = MoveRequest(vm: v, destination: d)
      let step = "step \(replay.moves.count + 1) (\(current.vm(v).name) to \(current.host(d).name))"
      guard case .pass(let decision) = pipeline.check(move, in: current, cache: &cache) else {
        throw PlannerError.inconsistentPlan("\(step) no longer passes the placement checks")
      }
      let after = current.imbalanceAfterMoving(v, to: d)
      guard current.imbalance > policy.threshold, current.imbalance - after >= minimumGain * decision.costUnits
      else {
        throw PlannerError.inconsistentPlan("\(step) no longer removes the minimum imbalance at its place")
      }
      let context = ScoringContext(
        move: move, decision: decision, imbalanceBefore: current.imbalance, imbalanceAfter: after,
        destinationScoreAfter: current.scoreAfterAdding(v, to: d))
      let s = current.hostOf[v]
      replay.rejected += rejections(for: v, chosen: d, in: current)
      replay.moves.append(
        PlannedMove(
          vm: current.vm(v).name, from: current.host(s).name, to: current.host(d).name, kind: decision.kind,
          reason: "step \(replay.moves.count + 1) of \(choices.count): "
            + reasonText(v, to: d, decision: decision, after: after, in: current),
          score: profile.terms(context, in: current), predicted: decision.predicted,
          requiresShutdown: decision.requiresShutdown,
          disksToCopy: decision.kind == .cold ? current.disksToCopy(v, to: d) : []))
      replay.placements.append((vm: v, to: d))
      replay.final.move(v, to: d)
    }
    return replay
  }

  private func reasonText(
    _ v: Int, to d: Int, decision: MoveDecision, after: Double, in state: PlacementState
  ) -> String {
    let s = state.hostOf[v]
    let source = state.host(s).name
    let destination = state.host(d).name
    let sourceAfter = state.scores[s] - state.contribution(of: v, on: s)
    let destinationAfter = state.scoreAfterAdding(v, to: d)
    return "imbalance \(Wording.imbalance(state.imbalance)) → \(Wording.imbalance(after)): "
      + "\(source) \(Wording.percent(state.scores[s])) → \(Wording.percent(sourceAfter)), "
      + "\(destination) \(Wording.percent(state.scores[d])) → \(Wording.percent(destinationAfter)) weighted load"
      + PlanTail.kindClause(
        decision, vm: state.vm(v), destination: destination,
        disks: decision.kind == .cold ? state.disksToCopy(v, to: d) : [])
  }

  // MARK: Rejections

  /// Destinations considered for `v` and refused, in the state just before it moves to `chosen`.
  private mutating func rejections(for v: Int, chosen: Int, in state: PlacementState) -> [Rejection] {
    let active = state.activeHosts
    let candidates: [Int]
    if active.count <= options.detailedRejectionHostLimit {
      candidates = active
    } else {
      var memo: [Int: [Int]] = [:]
      var global = [Bool](repeating: false, count: state.cluster.hosts.count)
      let least = Array(hostsByLoad(state).reversed().prefix(options.destinationHosts))
      for d in least { global[d] = true }
      candidates = least + storeDestinations(for: v, in: state, excluding: global, memo: &memo)
    }
    var found: [Rejection] = []
    for d in candidates where d != chosen && d != state.hostOf[v] {
      if let rejection = pipeline.rejection(MoveRequest(vm: v, destination: d), in: state, cache: &cache) {
        found.append(rejection)
      }
    }
    return found
  }

  private mutating func recordCooldowns(on sources: [Int]) {
    for s in sources {
      for v in state.vmsOn[s] where state.vmRunning[v] {
        guard let remaining = cooling[v], let last = history.lastMove[state.vm(v).name] else { continue }
        let ago = max(0, history.now - last.at)
        rejected.append(
          Rejection(
            vm: state.vm(v).name, host: nil, check: .cooldown,
            reason: "moved \(Wording.duration(ago)) ago from \(last.from); it stays put for the "
              + "\(policy.cooldown) cooldown (\(Wording.duration(remaining)) left)"))
      }
    }
  }

  /// Running VMs on the most loaded hosts that no destination accepts at all.
  private mutating func recordStuck(on sources: [Int], in state: PlacementState) {
    let active = state.activeHosts
    guard active.count <= options.detailedRejectionHostLimit else { return }
    let planned = Set(chosen.map(\.vm))
    for s in sources {
      for v in state.vmsOn[s] where state.vmRunning[v] && cooling[v] == nil && !planned.contains(v) {
        var counts = RefusalCounts()
        var example: Rejection?
        var accepted = false
        for d in active where d != s {
          let move = MoveRequest(vm: v, destination: d)
          let check = pipeline.check(move, in: state, cache: &cache)
          if case .pass = check {
            accepted = true
            break
          }
          if let failed = pipeline.failedCheck(check) { counts.add(failed) }
          if example == nil { example = pipeline.rejection(move, in: state, cache: &cache) }
        }
        guard !accepted, let example else { continue }
        rejected.append(counts.rejection(vm: state.vm(v).name, hosts: active.count - 1, example: example))
      }
    }
  }

  // MARK: Result

  private func finish(before: ClusterView, replay: Replay) -> MigrationPlan {
    let (scheduled, makespan) = PlanTail.ordered(
      replay.moves, placements: replay.placements, initial: initial, concurrency: policy.concurrency)
    return MigrationPlan(
      trigger: .balance, cluster: initial.cluster.name, policy: policy.name, moves: scheduled,
      rejected: rejected, before: before, after: replay.final.view(), predictedMakespanSeconds: makespan,
      notes: notes)
  }
}
