import BallastModel

/// One host's verdict for one VM: rejected (with every reason), or a candidate with its score.
public struct CandidateVerdict: Sendable, Hashable, Codable {
  public enum Verdict: String, Sendable, Hashable, Codable {
    /// The host the VM is on now.
    case current
    /// Every filter passes: a possible destination.
    case candidate
    /// At least one filter refuses it.
    case rejected
  }

  public var host: String
  public var verdict: Verdict
  /// Every check that refuses the host (empty unless `rejected`).
  public var rejections: [Rejection]
  /// How the VM would move there (candidates only).
  public var kind: MigrationKind?
  /// The score, term by term (candidates only); the balance profile's terms.
  public var score: [ScoreTerm]
  /// Σ weight × value of `score`.
  public var total: Double?
  public var predicted: PredictedCost?
  public var requiresShutdown: Bool
  /// Cluster imbalance if the VM moved there.
  public var imbalanceAfter: Double?

  public init(
    host: String, verdict: Verdict, rejections: [Rejection] = [], kind: MigrationKind? = nil, score: [ScoreTerm] = [],
    total: Double? = nil, predicted: PredictedCost? = nil, requiresShutdown: Bool = false, imbalanceAfter: Double? = nil
  ) {
    self.host = host
    self.verdict = verdict
    self.rejections = rejections
    self.kind = kind
    self.score = score
    self.total = total
    self.predicted = predicted
    self.requiresShutdown = requiresShutdown
    self.imbalanceAfter = imbalanceAfter
  }
}

/// Every host's verdict for one VM, and what holds the VM itself back.
public struct PlacementExplanation: Sendable, Hashable, Codable {
  public var vm: String
  public var host: String
  public var state: PowerState
  public var imbalance: Double
  /// About the VM rather than one host: cooldown, stopped VMs, the best destination.
  public var notes: [String]
  /// The current host first, then candidates by score (best first), then rejected hosts by name.
  public var candidates: [CandidateVerdict]
  /// The cost model's figures behind the predictions, and where each comes from.
  public var model: ModelFigures
}

/// The cost model's figures for one VM and the links from its host, as `--explain` shows them.
public struct ModelFigures: Sendable, Hashable, Codable {
  /// Whether the policy lets the model learn (`model.learn`); when not, every figure is the file's.
  public var learning: Bool
  /// The VM's figures.
  public var vm: VMFigures
  /// The link from the VM's host to each other host, by destination name.
  public var links: [String: LinkFigures]

  public init(learning: Bool, vm: VMFigures, links: [String: LinkFigures]) {
    self.learning = learning
    self.vm = vm
    self.links = links
  }

  /// How many of the figures were learned.
  public var learnedCount: Int {
    let vmFigures = [vm.touchedMemory, vm.dirtyRate, vm.shutdownSeconds, vm.bootSeconds]
    let linkFigures = links.values.flatMap {
      [
        $0.efficiency, $0.pauseSeconds, $0.liveSetupSeconds, $0.liveFinishSeconds, $0.coldSetupSeconds,
        $0.coldFinishSeconds,
      ]
    }
    return (vmFigures + linkFigures).filter(\.source.isLearned).count
  }
}

/// Answers "where could this VM go, and why not elsewhere?" for `ballast plan --explain VM`.
public enum PlacementExplainer {
  /// Every host's verdict for the VM called `vm`, scored as the balance planner scores.
  public static func explain(
    vm name: String, cluster: Cluster, policy: Policy, history: MoveHistory = .none, model: CostModel = CostModel()
  ) throws(PlannerError) -> PlacementExplanation {
    let state = PlacementState(cluster: cluster, policy: policy, history: history)
    guard let v = state.vmPosition(name) else {
      throw .unknownVM(
        name, cluster: cluster.name, suggestion: PlannerError.closest(to: name, in: cluster.vms.map(\.name)))
    }
    let vm = state.vm(v)
    let pipeline = PlacementPipeline(policy: policy, model: model)
    let profile = ScoringProfile.balance.addingSoftAffinity(for: policy)
    var cache = PredictionCache()
    let imbalance = state.imbalance
    var current: [CandidateVerdict] = []
    var candidates: [CandidateVerdict] = []
    var rejected: [CandidateVerdict] = []
    for d in cluster.hosts.indices {
      let hostName = state.host(d).name
      if d == state.hostOf[v] {
        current.append(CandidateVerdict(host: hostName, verdict: .current))
        continue
      }
      let move = MoveRequest(vm: v, destination: d)
      let (rejections, decision) = pipeline.allVerdicts(move, in: state, cache: &cache)
      guard let decision else {
        rejected.append(CandidateVerdict(host: hostName, verdict: .rejected, rejections: rejections))
        continue
      }
      let after = state.imbalanceAfterMoving(v, to: d)
      let context = ScoringContext(
        move: move, decision: decision, imbalanceBefore: imbalance, imbalanceAfter: after,
        destinationScoreAfter: state.scoreAfterAdding(v, to: d))
      let terms = profile.terms(context, in: state)
      candidates.append(
        CandidateVerdict(
          host: hostName, verdict: .candidate, kind: decision.kind, score: terms, total: terms.total,
          predicted: decision.predicted, requiresShutdown: decision.requiresShutdown, imbalanceAfter: after))
    }
    candidates.sort { ($0.total ?? 0) != ($1.total ?? 0) ? ($0.total ?? 0) > ($1.total ?? 0) : $0.host < $1.host }
    rejected.sort { $0.host < $1.host }

    var notes: [String] = []
    if !vm.state.isRunning {
      notes.append(
        "\(vm.name) is \(vm.state.rawValue): it is not load and balancing does not move it (a drain moves it cold)")
    }
    if let remaining = history.cooldownRemaining(vm: vm.name, cooldown: policy.cooldown.seconds) {
      notes.append("\(vm.name) moved recently: balancing leaves it in place for \(Wording.duration(remaining)) more")
    }
    if state.hostOf[v] >= 0, !state.isActive(state.hostOf[v]) {
      notes.append("\(vm.host) is in maintenance: a drain moves \(vm.name), balancing does not")
    }
    notes += ruleNotes(v, state: state, candidates: candidates)
    if let best = candidates.first, let after = best.imbalanceAfter {
      let gain = imbalance - after
      let minimum = policy.minimumGain(activeHosts: state.activeHosts.count)
      if gain >= minimum {
        notes.append(
          "best destination: \(best.host) (imbalance \(Wording.imbalance(imbalance)) → \(Wording.imbalance(after)))")
      } else {
        notes.append(
          "no destination removes the policy's minimum of \(Wording.imbalance(minimum)) "
            + "imbalance (best: \(best.host), \(Wording.imbalance(imbalance)) → \(Wording.imbalance(after)))")
      }
    } else {
      notes.append("no host accepts \(vm.name)")
    }
    let source = state.hostOf[v] >= 0 ? state.host(state.hostOf[v]) : nil
    var links: [String: LinkFigures] = [:]
    for host in cluster.hosts where host.name != vm.host { links[host.name] = model.link(from: source, to: host) }
    return PlacementExplanation(
      vm: vm.name, host: vm.host, state: vm.state, imbalance: imbalance, notes: notes,
      candidates: current + candidates + rejected,
      model: ModelFigures(learning: policy.model.learn, vm: model.figures(for: vm), links: links))
  }

  /// The rules the VM breaks where it is: hard ones a round repairs first; for soft ones, the
  /// cheapest candidate host that would satisfy more of them and whether that trade is within
  /// `repair.softWeight`.
  private static func ruleNotes(_ v: Int, state: PlacementState, candidates: [CandidateVerdict]) -> [String] {
    let name = state.vm(v).name
    let policy = state.policy
    let broken = RuleViolations.find(in: state.cluster, policy: policy).filter { $0.vms.contains(name) }
    var notes: [String] = []
    for violation in broken where violation.hard {
      notes.append("breaks \(violation.sentence): a balance round repairs that first")
    }
    let soft = broken.filter { !$0.hard }
    guard !soft.isEmpty else { return notes }
    let cheapest = candidates.compactMap { candidate -> (host: String, added: Double, rules: Int)? in
      guard let d = state.hostPosition(candidate.host), let after = candidate.imbalanceAfter,
        !candidate.requiresShutdown
      else { return nil }
      let rules = -state.softRulesAdded(movingVM: v, to: d)
      return rules > 0 ? (candidate.host, after - state.imbalance, rules) : nil
    }.min { $0.added != $1.added ? $0.added < $1.added : $0.host < $1.host }
    for violation in soft {
      var note = "soft: \(violation.sentence)"
      if let cheapest {
        let allowed = policy.repair.softWeight * Double(cheapest.rules)
        let verdict = cheapest.added <= allowed + 1e-12 ? "a round would move it" : "a round leaves it"
        note +=
          "; moving it to \(cheapest.host) would satisfy it for \(cheapest.added > 0 ? "+" : "")"
          + "\(Wording.imbalance(cheapest.added)) imbalance, and repair.softWeight allows "
          + "\(Wording.imbalance(allowed)): \(verdict)"
      } else {
        note += "; no candidate host would satisfy it without shutting it down"
      }
      notes.append(note)
    }
    return notes
  }
}
