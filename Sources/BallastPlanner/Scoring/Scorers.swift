import BallastModel

/// What a scorer knows about one candidate destination of one VM.
public struct ScoringContext: Sendable {
  public var move: MoveRequest
  public var decision: MoveDecision
  /// Cluster imbalance before and after the move.
  public var imbalanceBefore: Double
  public var imbalanceAfter: Double
  /// The destination's weighted utilization once the VM is there.
  public var destinationScoreAfter: Double

  public init(
    move: MoveRequest, decision: MoveDecision, imbalanceBefore: Double, imbalanceAfter: Double,
    destinationScoreAfter: Double
  ) {
    self.move = move
    self.decision = decision
    self.imbalanceBefore = imbalanceBefore
    self.imbalanceAfter = imbalanceAfter
    self.destinationScoreAfter = destinationScoreAfter
  }

  /// Imbalance removed by the move, in percentage points (negative when it grows).
  public var gainPoints: Double { (imbalanceBefore - imbalanceAfter) * 100 }
}

/// A soft preference between candidate destinations: `weight × value`, higher is better.
public protocol PlacementScorer: Sendable {
  var name: String { get }
  var weight: Double { get }
  /// The largest value the scorer can return (for pruning); `.infinity` when unbounded.
  var maximumValue: Double { get }
  func value(_ context: ScoringContext, in state: PlacementState) -> Double
}

/// Imbalance removed by the move, in percentage points.
public struct BalanceScorer: PlacementScorer {
  public let name = "balance"
  public var weight: Double
  public init(weight: Double = 1) { self.weight = weight }
  public var maximumValue: Double { .infinity }
  public func value(_ context: ScoringContext, in state: PlacementState) -> Double { context.gainPoints }
}

/// Imbalance removed per unit of migration cost (``MigrationCost``): the cost-benefit of a move.
public struct BalancePerCostScorer: PlacementScorer {
  public let name = "balance-per-cost"
  public var weight: Double
  public init(weight: Double = 1) { self.weight = weight }
  public var maximumValue: Double { .infinity }
  public func value(_ context: ScoringContext, in state: PlacementState) -> Double {
    context.gainPoints / max(1, context.decision.costUnits)
  }
}

/// The migration's cost beyond a move's fixed unit, negated: slow links, long copies and
/// outages score lower.
public struct MigrationCostScorer: PlacementScorer {
  public let name = "migration-cost"
  public var weight: Double
  public init(weight: Double = 0.5) { self.weight = weight }
  public var maximumValue: Double { 0 }
  public func value(_ context: ScoringContext, in state: PlacementState) -> Double {
    -(context.decision.costUnits - 1)
  }
}

/// VM–host `should` and `shouldNot` rules: −1 for each one the destination goes against.
public struct PreferenceScorer: PlacementScorer {
  public let name = "vm-host-preference"
  public var weight: Double
  public init(weight: Double = 1) { self.weight = weight }
  public var maximumValue: Double { 0 }
  public func value(_ context: ScoringContext, in state: PlacementState) -> Double {
    Self.penalty(vm: context.move.vm, destination: context.move.destination, in: state)
  }

  static func penalty(vm v: Int, destination d: Int, in state: PlacementState) -> Double {
    var value = 0.0
    for r in state.rulesOf[v] {
      let rule = state.policy.rules[r]
      guard rule.kind == .vmHost else { continue }
      let listed = state.ruleHosts[r].contains(d)
      if rule.mode == .should && !listed { value -= 1 }
      if rule.mode == .shouldNot && listed { value -= 1 }
    }
    return value
  }
}

/// Room left on the destination: 1 − its weighted utilization after the move.
public struct HeadroomScorer: PlacementScorer {
  public let name = "headroom"
  public var weight: Double
  public init(weight: Double = 0.05) { self.weight = weight }
  public var maximumValue: Double { 1 }
  public func value(_ context: ScoringContext, in state: PlacementState) -> Double {
    1 - context.destinationScoreAfter
  }
}

/// How full the destination is once the VM is there (its weighted utilization): higher is
/// better when packing VMs onto the fewest hosts (best fit).
public struct FullnessScorer: PlacementScorer {
  public let name = "fullness"
  public var weight: Double
  public init(weight: Double = 1) { self.weight = weight }
  public var maximumValue: Double { 1 }
  public func value(_ context: ScoringContext, in state: PlacementState) -> Double { context.destinationScoreAfter }
}

/// A weighted set of scorers.
public struct ScoringProfile: Sendable {
  public var scorers: [any PlacementScorer]

  public init(_ scorers: [any PlacementScorer]) { self.scorers = scorers }

  /// Balancing: imbalance removed per unit of cost, then preferences, then headroom as a tie-break.
  public static let balance = ScoringProfile([
    BalancePerCostScorer(weight: 1), PreferenceScorer(weight: 1), HeadroomScorer(weight: 0.01),
  ])

  /// Draining: keep the remaining hosts even, prefer cheap moves and preferred hosts.
  public static let drain = ScoringProfile([
    BalanceScorer(weight: 1), MigrationCostScorer(weight: 0.5), PreferenceScorer(weight: 1),
    HeadroomScorer(weight: 0.05),
  ])

  /// Packing, when a drain's even spread does not fit: the fullest host that takes the VM.
  public static let pack = ScoringProfile([FullnessScorer(weight: 1)])

  /// The most that the scorers other than `excluded` can add to a total (weights assumed ≥ 0).
  public func bound(excluding excluded: String) -> Double { bound(excluding: [excluded]) }

  /// The most that the scorers not named in `excluded` can add to a total (weights assumed ≥ 0).
  public func bound(excluding excluded: Set<String>) -> Double {
    scorers.filter { !excluded.contains($0.name) }.reduce(0) { $0 + max(0, $1.weight) * $1.maximumValue }
  }

  /// The weight of the scorer called `name` (0 when the profile has none).
  public func weight(of name: String) -> Double { scorers.first { $0.name == name }?.weight ?? 0 }

  /// Σ weight × value for `context`, without building the terms.
  public func total(_ context: ScoringContext, in state: PlacementState) -> Double {
    var sum = 0.0
    for i in scorers.indices { sum += scorers[i].weight * scorers[i].value(context, in: state) }
    return sum
  }

  /// Each scorer's term for `context`.
  public func terms(_ context: ScoringContext, in state: PlacementState) -> [ScoreTerm] {
    scorers.map { ScoreTerm(name: $0.name, weight: $0.weight, value: $0.value(context, in: state)) }
  }
}

extension [ScoreTerm] {
  /// Σ weight × value.
  public var total: Double { reduce(0) { $0 + $1.weight * $1.value } }
}
