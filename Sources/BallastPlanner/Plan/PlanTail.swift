import BallastModel

/// What every planner does once it has chosen its moves, and the words it uses for them: one
/// implementation for ``BalancePlanner`` and ``DrainPlanner``.
enum PlanTail {
  /// The moves (in planning order, with `decisions` their kind decisions and `placements`
  /// their VM and destination positions in `initial`) with their `dependsOn` set
  /// (``MoveDependencies``), then put in start order with their predicted start times
  /// (``PredictedTimeline``) and their costs as they run beside each other on the links (each
  /// reason's kind clause says the cost in this schedule), and the predicted makespan.
  static func ordered(
    _ moves: [PlannedMove], decisions: [MoveDecision], placements: [(vm: Int, to: Int)], initial: PlacementState,
    model: CostModel
  ) -> (moves: [PlannedMove], makespan: Double) {
    var moves = moves
    let dependencies = MoveDependencies.compute(placements, initial: initial)
    for i in moves.indices where i < dependencies.count { moves[i].dependsOn = dependencies[i] }
    var profiles: [MoveProfile] = []
    for (i, move) in moves.enumerated() where i < placements.count {
      let v = placements[i].vm
      let s = initial.hostOf[v]
      profiles.append(
        model.profile(
          move, vm: initial.vm(v), from: s >= 0 ? initial.host(s) : nil, to: initial.host(placements[i].to),
          policy: initial.policy))
    }
    var bandwidth: [String: Double] = [:]
    for host in initial.cluster.hosts where bandwidth[host.name] == nil {
      bandwidth[host.name] = host.migrationBandwidth.bytesPerSecond
    }
    let clauses = moves.indices.map { i in
      i < decisions.count && i < placements.count ? clause(decisions[i], moves[i], initial, placements[i].vm) : nil
    }
    var scheduled = PredictedTimeline(concurrency: initial.policy.concurrency).schedule(
      moves, profiles: profiles.count == moves.count ? profiles : nil, linkBandwidth: bandwidth)
    // Each reason ends with its kind clause: say the cost the move has in this schedule.
    var positions: [String: Int] = [:]
    for (i, move) in moves.enumerated() { positions[move.vm] = i }
    for j in scheduled.moves.indices {
      guard let i = positions[scheduled.moves[j].vm], let old = clauses[i], i < decisions.count else { continue }
      var decision = decisions[i]
      decision.predicted = scheduled.moves[j].predicted
      let new = clause(decision, moves[i], initial, placements[i].vm)
      let reason = scheduled.moves[j].reason
      if old != new, reason.hasSuffix(old) { scheduled.moves[j].reason = String(reason.dropLast(old.count)) + new }
    }
    return scheduled
  }

  private static func clause(
    _ decision: MoveDecision, _ move: PlannedMove, _ initial: PlacementState, _ v: Int
  )
    -> String
  {
    kindClause(decision, vm: initial.vm(v), destination: move.to, disks: move.disksToCopy)
  }

  /// The cluster once `moves` (their VM and destination positions in `placements`) are done:
  /// each VM on its destination, and a VM moved cold to a host that cannot offer its CPU model
  /// started with the host's, as the drivers do. What plans count violations on afterwards.
  static func cluster(
    _ snapshot: PlacementState, after moves: [PlannedMove], placements: [(vm: Int, to: Int)]
  ) -> Cluster {
    var cluster = snapshot.cluster
    for (move, placement) in zip(moves, placements) {
      let host = snapshot.host(placement.to)
      cluster.vms[placement.vm].host = host.name
      if move.kind == .cold, !CPUCheck.missingFeatures(cluster.vms[placement.vm], on: host).isEmpty {
        cluster.vms[placement.vm].cpuModel = host.cpuModel
        cluster.vms[placement.vm].cpuFeatures = []
      }
    }
    return cluster
  }

  /// A rule as reasons name it: `anti-affinity rule db-pair`, `affinity rule app`, `rule licensed`.
  static func ruleTitle(_ rule: PlacementRule) -> String {
    switch rule.kind {
    case .antiAffinity: "anti-affinity rule \(rule.name)"
    case .affinity: "affinity rule \(rule.name)"
    case .vmHost: "rule \(rule.name)"
    }
  }

  /// The clause of a move's reason naming the soft rules it goes against (empty when none): the
  /// trade a plan makes against `repair.softWeight`.
  static func softClause(_ v: Int, to d: Int, in state: PlacementState) -> String {
    let broken = state.softRulesBroken(v, on: d)
    guard !broken.isEmpty else { return "" }
    let rules = broken.map { ruleTitle(state.policy.rules[$0]) }
    return "; goes against soft \(Wording.list(rules))"
  }

  /// How a move goes, as its reason's last clauses say it: live with its predicted time, pause
  /// and throttle; or cold, why, and the outage; and the disks it copies.
  static func kindClause(_ decision: MoveDecision, vm: VM, destination: String, disks: [Disk]) -> String {
    let predicted = decision.predicted
    var text: String
    switch decision.kind {
    case .live:
      text =
        "; live in ~\(Wording.duration(predicted.seconds)) with a \(Wording.duration(predicted.downtimeMs / 1000)) pause"
      if predicted.throttle > 0 { text += " (guest throttled to \(Wording.percent(1 - predicted.throttle)))" }
    case .cold:
      if let why = decision.whyNotLive {
        text =
          "; cold because \(why.sentence(vm: vm.name, host: destination)): "
          + "down ~\(Wording.duration(predicted.downtimeMs / 1000))"
      } else {
        text = "; cold, it is \(vm.state.rawValue)"
      }
    }
    if !disks.isEmpty {
      text += "; copies \(Wording.bytes(disks.reduce(0) { $0 + $1.bytesToCopy.double })) of disks"
    }
    return text
  }
}

/// How many destinations each check refused one VM on: why a VM has nowhere to go.
struct RefusalCounts {
  private(set) var counts: [MoveCheck: Int] = [:]

  /// Counts one more host (or `hosts` more) refused by `check`.
  mutating func add(_ check: MoveCheck, hosts: Int = 1) {
    guard hosts > 0 else { return }
    counts[check, default: 0] += hosts
  }

  /// The checks by how many hosts they refused, most first (ties by name).
  var ranked: [(check: MoveCheck, hosts: Int)] {
    counts.map { (check: $0.key, hosts: $0.value) }.sorted {
      $0.hosts != $1.hosts ? $0.hosts > $1.hosts : $0.check.name < $1.check.name
    }
  }

  /// The summary row of a VM no host takes: the check that refused the most hosts, with the
  /// count of every check (`capacity 3, storage 2`) and, when given, one host's reason.
  func rejection(vm: String, hosts: Int, example: Rejection? = nil) -> Rejection {
    guard hosts > 0 else {
      return Rejection(vm: vm, host: nil, check: .hostState, reason: "no other active host to take it")
    }
    let ranked = self.ranked
    let list = ranked.map { "\($0.check) \($0.hosts)" }.joined(separator: ", ")
    var reason = "none of the \(hosts) other active host\(hosts == 1 ? "" : "s") takes it (\(list))"
    if let example { reason += "; e.g. \(example.host ?? "?"): \(example.reason)" }
    // Every host refused it with some check; the example's stands in if none was counted.
    return Rejection(vm: vm, host: nil, check: ranked.first?.check ?? example?.check ?? .hostState, reason: reason)
  }
}
