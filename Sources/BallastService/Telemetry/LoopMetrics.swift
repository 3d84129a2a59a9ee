import BallastEngine
import BallastModel
import CoreMetrics

/// The loop's metrics as swift-metrics objects, made by one factory (see
/// ``DescribedPrometheusFactory``). Every label value the loop can report is created up front
/// with its zero, so a query finds each series before the first event of its kind.
struct LoopMetrics: Sendable {
  typealias Names = LoopMetricNames

  static let resources = ["cpu", "memory"]
  static let hostStates = ["active", "maintenance", "unseen"]
  static let decisions = [
    "balanced", "holding", "backingOff", "nothingToDo", "planned", "executed", "leaseHeld", "failed",
  ]

  let factory: any MetricsFactory
  let measuredImbalance: Gauge
  let smoothedImbalance: Gauge
  let threshold: Gauge
  let rounds: [String: Counter]
  let roundDuration: Timer
  let planDuration: Timer
  let migrations: [MigrationKind: [MoveOutcome: Counter]]
  let migrationDuration: [MigrationKind: Timer]
  let migrationDowntime: [MigrationKind: Timer]
  let bytesMoved: FloatingPointCounter
  let inFlight: Gauge
  let leaseHeld: Gauge
  let lastRound: Gauge
  let standby: Gauge
  /// Violations of the kinds that have no rule (capacity, cpu), at 0 from the start so the
  /// family is there before anything breaks.
  let ruleFreeViolations: [ViolationSeries: Gauge]

  init(factory: any MetricsFactory) {
    self.factory = factory
    measuredImbalance = Gauge(label: Names.imbalance, dimensions: [("kind", "measured")], factory: factory)
    smoothedImbalance = Gauge(label: Names.imbalance, dimensions: [("kind", "smoothed")], factory: factory)
    threshold = Gauge(label: Names.threshold, factory: factory)
    rounds = Dictionary(
      uniqueKeysWithValues: Self.decisions.map {
        ($0, Counter(label: Names.rounds, dimensions: [("decision", $0)], factory: factory))
      })
    roundDuration = Timer(label: Names.roundDuration, factory: factory)
    planDuration = Timer(label: Names.planDuration, factory: factory)
    var migrations: [MigrationKind: [MoveOutcome: Counter]] = [:]
    var durations: [MigrationKind: Timer] = [:]
    var downtimes: [MigrationKind: Timer] = [:]
    for kind in MigrationKind.allCases {
      for outcome in MoveOutcome.allCases {
        migrations[kind, default: [:]][outcome] = Counter(
          label: Names.migrations, dimensions: [("kind", kind.rawValue), ("outcome", outcome.rawValue)],
          factory: factory)
      }
      durations[kind] = Timer(label: Names.migrationDuration, dimensions: [("kind", kind.rawValue)], factory: factory)
      downtimes[kind] = Timer(label: Names.migrationDowntime, dimensions: [("kind", kind.rawValue)], factory: factory)
    }
    self.migrations = migrations
    migrationDuration = durations
    migrationDowntime = downtimes
    bytesMoved = FloatingPointCounter(label: Names.bytesMoved, factory: factory)
    inFlight = Gauge(label: Names.inFlight, factory: factory)
    leaseHeld = Gauge(label: Names.leaseHeld, factory: factory)
    lastRound = Gauge(label: Names.lastRound, factory: factory)
    standby = Gauge(label: Names.standby, factory: factory)
    var ruleFree: [ViolationSeries: Gauge] = [:]
    for kind in [RuleViolation.Kind.capacity, .cpu] {
      ruleFree[ViolationSeries(rule: kind.rawValue, kind: kind)] = Self.violationGauge(
        rule: kind.rawValue, kind: kind, factory: factory)
    }
    ruleFreeViolations = ruleFree
    for gauge in [inFlight, leaseHeld, lastRound, standby] + ruleFree.values { gauge.record(0) }
  }

  /// A host's gauges: utilization per resource and one per state.
  struct HostGauges: Sendable {
    var utilization: [String: Gauge]
    var state: [String: Gauge]
  }

  func hostGauges(_ host: String) -> HostGauges {
    HostGauges(
      utilization: Dictionary(
        uniqueKeysWithValues: Self.resources.map {
          ($0, Gauge(label: Names.hostUtilization, dimensions: [("host", host), ("resource", $0)], factory: factory))
        }),
      state: Dictionary(
        uniqueKeysWithValues: Self.hostStates.map {
          ($0, Gauge(label: Names.hostState, dimensions: [("host", host), ("state", $0)], factory: factory))
        }))
  }

  /// The gauge counting violations of `rule` (a rule's name, or the kind for capacity and CPU).
  static func violationGauge(rule: String, kind: RuleViolation.Kind, factory: any MetricsFactory) -> Gauge {
    Gauge(label: Names.ruleViolations, dimensions: [("rule", rule), ("kind", kind.rawValue)], factory: factory)
  }

  /// Records `seconds` on `timer` when it is a duration (finite, not negative).
  static func record(_ seconds: Double?, on timer: Timer?) {
    guard let seconds, seconds.isFinite, seconds >= 0, let timer else { return }
    timer.recordNanoseconds(DescribedPrometheusFactory.nanoseconds(seconds))
  }
}

/// One `ballast_rule_violations` series: a rule (or a kind without rules) and its kind.
struct ViolationSeries: Hashable, Sendable {
  var rule: String
  var kind: RuleViolation.Kind
}
