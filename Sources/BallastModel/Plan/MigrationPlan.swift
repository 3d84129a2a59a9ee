/// How a VM moves.
public enum MigrationKind: String, Sendable, Hashable, Codable, CaseIterable {
  /// Pre-copy while it runs; only the stop-and-copy pause is downtime.
  case live
  /// Moved while off (shut down first if it was running, then started again).
  case cold
}

/// What asked for a plan.
public enum PlanTrigger: String, Sendable, Hashable, Codable, CaseIterable {
  case balance
  case drain
  case manual
  case loop
}

/// The predicted cost of one move, in the units operators read.
public struct PredictedCost: Sendable, Hashable, Codable {
  /// Total duration of the migration.
  public var seconds: Double
  /// Time the VM is not running (stop-and-copy pause; the whole move for a running VM moved cold).
  public var downtimeMs: Double
  /// Bytes sent over the migration link.
  public var bytes: Double
  /// Pre-copy rounds (0 for cold).
  public var rounds: Int
  /// Whether pre-copy is predicted to converge (always true for cold).
  public var converges: Bool
  /// Guest CPU throttle auto-converge is predicted to need (0 when none).
  public var throttle: Double

  public init(
    seconds: Double, downtimeMs: Double, bytes: Double, rounds: Int, converges: Bool, throttle: Double = 0
  ) {
    self.seconds = seconds
    self.downtimeMs = downtimeMs
    self.bytes = bytes
    self.rounds = rounds
    self.converges = converges
    self.throttle = throttle
  }
}

/// One term of a destination's score: `weight × value`.
public struct ScoreTerm: Sendable, Hashable, Codable {
  public var name: String
  public var weight: Double
  public var value: Double

  public init(name: String, weight: Double, value: Double) {
    self.name = name
    self.weight = weight
    self.value = value
  }
}

/// One VM move in a plan: the contract between planner and engine.
public struct PlannedMove: Sendable, Hashable, Codable {
  public var vm: String
  public var from: String
  public var to: String
  public var kind: MigrationKind
  /// Why this move, in an operator's words.
  public var reason: String
  /// The destination's score, term by term.
  public var score: [ScoreTerm]
  public var predicted: PredictedCost
  /// The VM is running and moves cold: it is shut down first and started on the destination.
  public var requiresShutdown: Bool
  /// Disks copied because the destination does not mount their datastore.
  public var disksToCopy: [Disk]
  /// Positions (in `MigrationPlan.moves`) of moves that must finish before this one starts,
  /// because they free the room it needs.
  public var dependsOn: [Int]
  /// When the planner expects it to start, in seconds after the plan starts.
  public var plannedStartSeconds: Double
  /// The broken rules this move repairs (or, with the rest of its group, helps repair); `nil`
  /// for a move that balances.
  public var repairs: [RuleViolation]?

  public init(
    vm: String, from: String, to: String, kind: MigrationKind, reason: String, score: [ScoreTerm] = [],
    predicted: PredictedCost, requiresShutdown: Bool = false, disksToCopy: [Disk] = [],
    dependsOn: [Int] = [], plannedStartSeconds: Double = 0, repairs: [RuleViolation]? = nil
  ) {
    self.vm = vm
    self.from = from
    self.to = to
    self.kind = kind
    self.reason = reason
    self.score = score
    self.predicted = predicted
    self.requiresShutdown = requiresShutdown
    self.disksToCopy = disksToCopy
    self.dependsOn = dependsOn
    self.plannedStartSeconds = plannedStartSeconds
    self.repairs = repairs
  }
}

/// A destination or a VM that was considered and rejected, with the check that said no.
public struct Rejection: Sendable, Hashable, Codable {
  public var vm: String
  /// The host that was rejected, or `nil` when the VM itself cannot move.
  public var host: String?
  /// The check that rejected it (for a VM with no host: the one that refused it most often).
  public var check: MoveCheck
  /// Why, in an operator's words.
  public var reason: String

  public init(vm: String, host: String?, check: MoveCheck, reason: String) {
    self.vm = vm
    self.host = host
    self.check = check
    self.reason = reason
  }

  /// The check's name, as plans print it (their `filter` column and field).
  public var filter: String { check.name }

  // Stored as `filter` (the check's name), as plans have always been.
  private enum CodingKeys: String, CodingKey {
    case vm, host, check = "filter", reason
  }
}

/// Utilization of one host in a plan's before / after view.
public struct HostView: Sendable, Hashable, Codable {
  public var name: String
  public var cpu: Double
  public var memory: Double
  public var state: HostState

  public init(name: String, cpu: Double, memory: Double, state: HostState) {
    self.name = name
    self.cpu = cpu
    self.memory = memory
    self.state = state
  }
}

/// The cluster's utilization and imbalance at one point of a plan.
public struct ClusterView: Sendable, Hashable, Codable {
  public var imbalance: Double
  public var hosts: [HostView]

  public init(imbalance: Double, hosts: [HostView]) {
    self.imbalance = imbalance
    self.hosts = hosts
  }

  /// The view of `cluster` under `weights`.
  public init(_ cluster: Cluster, weights: MetricWeights) {
    let utilizations = cluster.utilizations()
    self.hosts = zip(cluster.hosts, utilizations).map {
      HostView(name: $0.name, cpu: $1.cpu, memory: $1.memory, state: $0.state)
    }
    self.imbalance = Imbalance.of(cluster, weights: weights)
  }
}

/// An ordered set of moves with everything needed to trust it before anything moves.
public struct MigrationPlan: Sendable, Hashable, Codable {
  public var trigger: PlanTrigger
  public var cluster: String
  public var policy: String
  /// Moves in the order they should start.
  public var moves: [PlannedMove]
  /// Destinations and VMs considered and rejected, with reasons.
  public var rejected: [Rejection]
  /// Set when the plan is refused as a whole (drain that cannot complete, `liveIneligible: fail`):
  /// nothing in it may run.
  public var refusal: String?
  public var before: ClusterView
  /// The cluster as it will be once every move is done.
  public var after: ClusterView
  /// Predicted time until the last move ends, within the concurrency limits.
  public var predictedMakespanSeconds: Double
  /// What the planner wants the operator to know beyond the moves, e.g. "imbalance is under
  /// the threshold: nothing to do".
  public var notes: [String]
  /// The rules the cluster breaks before the plan (``RuleViolations``); `nil` when it breaks none.
  public var violationsBefore: [RuleViolation]?
  /// The rules it still breaks once every move is done; `nil` when it broke none before.
  public var violationsAfter: [RuleViolation]?

  public init(
    trigger: PlanTrigger, cluster: String, policy: String, moves: [PlannedMove], rejected: [Rejection],
    refusal: String? = nil, before: ClusterView, after: ClusterView, predictedMakespanSeconds: Double = 0,
    notes: [String] = [], violationsBefore: [RuleViolation]? = nil, violationsAfter: [RuleViolation]? = nil
  ) {
    self.trigger = trigger
    self.cluster = cluster
    self.policy = policy
    self.moves = moves
    self.rejected = rejected
    self.refusal = refusal
    self.before = before
    self.after = after
    self.predictedMakespanSeconds = predictedMakespanSeconds
    self.notes = notes
    self.violationsBefore = violationsBefore
    self.violationsAfter = violationsAfter
  }

  /// Moves that repair broken rules.
  public var repairMoves: [PlannedMove] { moves.filter { $0.repairs != nil } }
}
