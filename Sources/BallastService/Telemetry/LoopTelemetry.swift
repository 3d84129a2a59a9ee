import BallastEngine
import BallastModel
import BallastRuntime
import CoreMetrics
import Synchronization

/// What a running balancing loop reports: it observes rounds (``LoopObserver``) and the
/// engine's events (``engineEvent(_:)``), keeps the metrics current, and answers the status,
/// health and readiness the HTTP endpoint serves.
///
/// Every call returns at once: the state sits behind a mutex and nothing here waits for I/O.
public final class LoopTelemetry: LoopObserver, LoopRoleObserver, Sendable {
  struct State {
    var facts: LoopFacts
    var hosts: [LoopStatus.HostStatus] = []
    var hostGauges: [String: LoopMetrics.HostGauges] = [:]
    /// Gauges of the rules broken in some round, by kind and label: kept, and set to 0 once repaired.
    var violationGauges: [ViolationSeries: Gauge] = [:]
    var violations: [RuleViolation] = []
    var imbalance: LoopStatus.ImbalanceStatus?
    var lastRound: LoopStatus.RoundStatus?
    var roundsCompleted = 0
    var roundsFailed = 0
    var lastError: String?
    /// Moves in flight by their position in the running plan.
    var moves: [Int: MoveInFlight] = [:]
  }

  /// The cluster the loop balances.
  public let cluster: String
  /// Judges health and readiness.
  public let health: LoopHealth
  let clock: TelemetryClock
  let metrics: LoopMetrics
  private let state: Mutex<State>

  /// Telemetry of a loop on `cluster` whose rounds start `interval` real seconds apart,
  /// reporting its metrics through `factory`.
  public init(cluster: String, interval: Double, factory: any MetricsFactory, clock: TelemetryClock = .system) {
    self.cluster = cluster
    self.health = LoopHealth(interval: interval)
    self.clock = clock
    let metrics = LoopMetrics(factory: factory)
    self.metrics = metrics
    var initial = State(facts: LoopFacts(startedAt: clock.monotonic()))
    initial.violationGauges = metrics.ruleFreeViolations
    self.state = Mutex(initial)
  }

  // MARK: - Rounds

  public func roundStarted() {
    let now = clock.monotonic()
    state.withLock { $0.facts.roundStartedAt = now }
  }

  public func roundEnded(_ report: RoundReport) {
    let now = clock.monotonic()
    let wall = clock.wall()
    state.withLock { state in
      let seconds = state.facts.roundStartedAt.map { now - $0 } ?? 0
      state.facts.roundStartedAt = nil
      state.facts.lastRoundEndedAt = now
      state.facts.failuresSinceLastRound = 0
      state.facts.hostsLeftOut = report.excludedHosts
      if report.excludedHosts.isEmpty, !report.hosts.isEmpty { state.facts.sampledEveryHost = true }
      state.roundsCompleted += 1
      state.lastRound = LoopStatus.RoundStatus(
        endedAt: wall, clusterTime: report.at, decision: report.decision.name, message: report.line,
        plannedMoves: report.plannedMoves, seconds: seconds)
      state.imbalance = LoopStatus.ImbalanceStatus(
        measured: report.measuredImbalance, smoothed: report.imbalance, threshold: report.threshold)
      let leftOut = Set(report.excludedHosts)
      state.hosts = report.hosts.map { host in
        LoopStatus.HostStatus(
          name: host.name, state: leftOut.contains(host.name) ? "unseen" : host.state.rawValue, cpu: host.cpu,
          memory: host.memory)
      }
      state.violations = report.violations
      // The engine has finished with the round's plan: nothing it started is still running.
      state.moves.removeAll()
      record(state: &state, seconds: seconds, report: report, wall: wall)
    }
  }

  public func roundFailed(_ error: any Error) {
    let now = clock.monotonic()
    state.withLock { state in
      let seconds = state.facts.roundStartedAt.map { now - $0 }
      state.facts.roundStartedAt = nil
      state.facts.failuresSinceLastRound += 1
      state.facts.lastError = "\(error)"
      state.roundsFailed += 1
      state.lastError = "\(error)"
      state.moves.removeAll()
      metrics.inFlight.record(0)
      metrics.rounds["failed"]?.increment()
      LoopMetrics.record(seconds, on: metrics.roundDuration)
    }
  }

  public func loopStopping() {
    state.withLock { $0.facts.stopping = true }
  }

  /// This instance stands by while `leader` balances the cluster (high availability): healthy,
  /// not ready. Call it at every check of the leader; ``becameActive()`` ends it.
  public func standingBy(leader: String) {
    let now = clock.monotonic()
    state.withLock { state in
      state.facts.standingByFor = leader
      state.facts.lastStandbyCheckAt = now
    }
    metrics.standby.record(1)
  }

  /// This instance leads again (took over, or never stood by).
  public func becameActive() {
    state.withLock { state in
      state.facts.standingByFor = nil
      state.facts.lastStandbyCheckAt = nil
    }
    metrics.standby.record(0)
  }

  /// Whether this process holds the cluster's migration lease (read at each scrape).
  public func leaseHeld(_ held: Bool) { metrics.leaseHeld.record(held ? 1 : 0) }

  private func record(state: inout State, seconds: Double, report: RoundReport, wall: Double) {
    metrics.rounds[report.decision.name]?.increment()
    LoopMetrics.record(seconds, on: metrics.roundDuration)
    LoopMetrics.record(report.planningSeconds, on: metrics.planDuration)
    metrics.smoothedImbalance.record(report.imbalance)
    if let measured = report.measuredImbalance { metrics.measuredImbalance.record(measured) }
    metrics.threshold.record(report.threshold)
    metrics.lastRound.record(wall)
    metrics.inFlight.record(0)
    for host in state.hosts {
      let gauges = state.hostGauges[host.name] ?? metrics.hostGauges(host.name)
      state.hostGauges[host.name] = gauges
      gauges.utilization["cpu"]?.record(host.cpu)
      gauges.utilization["memory"]?.record(host.memory)
      for (name, gauge) in gauges.state { gauge.record(name == host.state ? 1 : 0) }
    }
    var counts: [ViolationSeries: Int] = [:]
    for violation in report.violations {
      counts[ViolationSeries(rule: violation.label, kind: violation.kind), default: 0] += 1
    }
    for series in counts.keys where state.violationGauges[series] == nil {
      state.violationGauges[series] = LoopMetrics.violationGauge(
        rule: series.rule, kind: series.kind, factory: metrics.factory)
    }
    for (series, gauge) in state.violationGauges { gauge.record(counts[series] ?? 0) }
  }

  // MARK: - Engine events

  /// Follows one engine event (give the ``BalanceController`` an observer that calls this): moves in flight, their stage, and the migration metrics.
  public func engineEvent(_ event: EngineEvent) {
    let now = clock.monotonic()
    let wall = clock.wall()
    state.withLock { state in
      state.facts.lastEngineEventAt = now
      switch event.type {
      case .moveStarted:
        state.moves[event.move] = MoveInFlight(
          vm: event.vm, from: event.from, to: event.to, kind: event.kind, stage: nil, startedAt: wall,
          engineStart: event.time)
      case .stageStarted:
        state.moves[event.move]?.stage = event.stage
      case .progress:
        state.moves[event.move]?.preCopyRound = event.figures.round
        state.moves[event.move]?.remainingBytes = event.figures.remaining
      case .stageEnded:
        break
      case .moveEnded:
        let started = state.moves.removeValue(forKey: event.move)
        let outcome = event.moveOutcome ?? .rolledBack
        metrics.migrations[event.kind]?[outcome]?.increment()
        if outcome == .completed {
          LoopMetrics.record(started.map { event.time - $0.engineStart }, on: metrics.migrationDuration[event.kind])
          LoopMetrics.record(event.figures.downtimeMs.map { $0 / 1000 }, on: metrics.migrationDowntime[event.kind])
          if let bytes = event.figures.bytesSent, bytes.isFinite, bytes > 0 { metrics.bytesMoved.increment(by: bytes) }
        }
      case .moveSkipped:
        metrics.migrations[event.kind]?[.skipped]?.increment()
      }
      metrics.inFlight.record(Double(state.moves.count))
      state.facts.movesInFlight = state.moves.count
    }
  }

  // MARK: - Answers

  /// When the last round ran, on the cluster's clock (virtual for a simulated cluster).
  public var lastRoundClusterTime: Double? { state.withLock { $0.lastRound?.clusterTime } }

  /// The facts health is judged on, now.
  public var facts: LoopFacts { state.withLock { $0.facts } }

  /// `/healthz`: healthy while rounds complete on time.
  public func healthVerdict() -> HealthVerdict { health.health(facts, now: clock.monotonic()) }

  /// `/readyz`: ready once a round sampled every host, while healthy and active.
  public func readinessVerdict() -> HealthVerdict { health.readiness(facts, now: clock.monotonic()) }

  /// `/api/status` without the lease (the caller reads it from the history).
  public func status(lease: LoopStatus.LeaseStatus?) -> LoopStatus {
    let now = clock.monotonic()
    return state.withLock { state in
      LoopStatus(
        cluster: cluster, role: state.facts.standingByFor == nil ? "active" : "standby",
        health: health.health(state.facts, now: now), readiness: health.readiness(state.facts, now: now),
        hosts: state.hosts, imbalance: state.imbalance, lastRound: state.lastRound,
        roundsCompleted: state.roundsCompleted, roundsFailed: state.roundsFailed, lastError: state.lastError,
        movesInFlight: state.moves.sorted { $0.key < $1.key }.map(\.value), violations: state.violations, lease: lease,
        interval: health.interval)
    }
  }
}

extension RoundReport {
  /// Moves in the round's plan, when it planned.
  var plannedMoves: Int? {
    switch decision {
    case .nothingToDo(let plan), .planned(let plan), .executed(let plan, _): plan.moves.count
    case .balanced, .holding, .backingOff, .leaseHeld: nil
    }
  }
}
