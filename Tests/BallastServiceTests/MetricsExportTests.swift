import BallastEngine
import BallastModel
import Prometheus
import Testing

@testable import BallastRuntime
@testable import BallastService

/// The metrics a round and its migrations leave in the Prometheus text, checked by promtool.
@Suite("metrics export")
struct MetricsExportTests {
  let clock = ManualClock()
  let endpoint: LoopEndpoint

  init() { endpoint = LoopEndpoint(cluster: "demo", interval: 5, clock: clock.telemetryClock) }

  static func report(decision: RoundDecision = .balanced) -> RoundReport {
    var report = RoundReport(
      at: 50_000, imbalance: 0.21, threshold: 0.05, excludedHosts: ["h3"], decision: decision)
    report.measuredImbalance = 0.25
    report.hosts = [
      HostView(name: "h1", cpu: 1.25, memory: 0.5, state: .active),
      HostView(name: "h2", cpu: 0.1, memory: 0.2, state: .maintenance),
      HostView(name: "h3", cpu: 0, memory: 0, state: .maintenance),
    ]
    report.planningSeconds = 0.02
    return report
  }

  static func event(
    _ type: EngineEvent.EventType, move: Int = 0, kind: MigrationKind = .live, stage: MigrationStage? = nil,
    outcome: MoveOutcome? = nil, time: Double, figures: StageFigures = StageFigures()
  ) -> EngineEvent {
    EngineEvent(
      type: type, move: move, vm: "web-\(move)", from: "h1", to: "h2", kind: kind, stage: stage,
      moveOutcome: outcome, at: time - 100, time: time, figures: figures)
  }

  @Test func aRoundAndItsMigrationsAppearWithHelpAndPassPromtool() async throws {
    let telemetry = endpoint.telemetry
    telemetry.roundStarted()
    clock.advance(0.5)
    telemetry.engineEvent(Self.event(.moveStarted, time: 100))
    telemetry.engineEvent(Self.event(.stageStarted, stage: .preCopy, time: 101))
    var progress = StageFigures()
    progress.round = 3
    progress.remaining = 4096
    telemetry.engineEvent(Self.event(.progress, stage: .preCopy, time: 102, figures: progress))
    telemetry.engineEvent(Self.event(.moveStarted, move: 1, kind: .cold, time: 100))
    let midway = ExpositionText(endpoint.registry.emitToString())
    #expect(midway.value(LoopMetricNames.inFlight) == 2)
    let status = telemetry.status(lease: nil)
    #expect(status.movesInFlight.map(\.vm) == ["web-0", "web-1"])
    #expect(status.movesInFlight.first?.stage == .preCopy)
    #expect(status.movesInFlight.first?.preCopyRound == 3)

    var measured = StageFigures()
    measured.bytesSent = 1_000_000
    measured.downtimeMs = 250
    telemetry.engineEvent(Self.event(.moveEnded, outcome: .completed, time: 130, figures: measured))
    telemetry.engineEvent(Self.event(.moveEnded, move: 1, kind: .cold, outcome: .rolledBack, time: 140))
    telemetry.engineEvent(Self.event(.moveSkipped, move: 2, kind: .cold, time: 140))
    clock.advance(1.5)
    telemetry.roundEnded(Self.report())

    let text = endpoint.registry.emitToString()
    let metrics = ExpositionText(text)
    for (name, description) in LoopMetricNames.descriptions {
      #expect(metrics.help[name] == description.help, "\(name)")
    }
    #expect(metrics.value(LoopMetricNames.imbalance, ["kind": "measured"]) == 0.25)
    #expect(metrics.value(LoopMetricNames.imbalance, ["kind": "smoothed"]) == 0.21)
    #expect(metrics.value(LoopMetricNames.threshold) == 0.05)
    #expect(metrics.value(LoopMetricNames.hostUtilization, ["host": "h1", "resource": "cpu"]) == 1.25)
    #expect(metrics.value(LoopMetricNames.hostUtilization, ["host": "h2", "resource": "memory"]) == 0.2)
    #expect(metrics.value(LoopMetricNames.hostState, ["host": "h2", "state": "maintenance"]) == 1)
    #expect(metrics.value(LoopMetricNames.hostState, ["host": "h2", "state": "active"]) == 0)
    #expect(metrics.value(LoopMetricNames.hostState, ["host": "h3", "state": "unseen"]) == 1)
    #expect(metrics.value(LoopMetricNames.hostState, ["host": "h3", "state": "maintenance"]) == 0)
    #expect(metrics.value(LoopMetricNames.rounds, ["decision": "balanced"]) == 1)
    #expect(metrics.value(LoopMetricNames.rounds, ["decision": "executed"]) == 0)
    #expect(metrics.value("ballast_round_duration_seconds_count") == 1)
    #expect(metrics.value("ballast_round_duration_seconds_sum") == 2)
    #expect(metrics.value("ballast_plan_duration_seconds_sum") == 0.02)
    #expect(metrics.value(LoopMetricNames.migrations, ["kind": "live", "outcome": "completed"]) == 1)
    #expect(metrics.value(LoopMetricNames.migrations, ["kind": "cold", "outcome": "rolledBack"]) == 1)
    #expect(metrics.value(LoopMetricNames.migrations, ["kind": "cold", "outcome": "skipped"]) == 1)
    #expect(metrics.value(LoopMetricNames.migrations, ["kind": "live", "outcome": "needsAttention"]) == 0)
    #expect(metrics.value("ballast_migration_duration_seconds_sum", ["kind": "live"]) == 30)
    #expect(metrics.value("ballast_migration_duration_seconds_count", ["kind": "cold"]) == 0)
    #expect(metrics.value("ballast_migration_downtime_seconds_sum", ["kind": "live"]) == 0.25)
    #expect(metrics.value("ballast_migration_downtime_seconds_bucket", ["kind": "live", "le": "0.25"]) == 1)
    #expect(metrics.value("ballast_migration_downtime_seconds_bucket", ["kind": "live", "le": "0.1"]) == 0)
    #expect(metrics.value(LoopMetricNames.bytesMoved) == 1_000_000)
    #expect(metrics.value(LoopMetricNames.inFlight) == 0)
    #expect(metrics.value(LoopMetricNames.leaseHeld) == 0)
    #expect(metrics.value(LoopMetricNames.lastRound) == 1_800_000_000 + clock.now)
    #expect(metrics.types["ballast_round_duration_seconds"] == "histogram")
    #expect(metrics.types[LoopMetricNames.rounds] == "counter")
    if let problems = try await ExternalTool.promtoolProblems(text) { Issue.record("\(problems)\n\(text)") }
  }

  @Test func beforeTheFirstRoundEveryFamilyIsThereAndPassesPromtool() async throws {
    let text = endpoint.registry.emitToString()
    let metrics = ExpositionText(text)
    for name in LoopMetricNames.descriptions.keys
    where ![
      LoopMetricNames.hostUtilization, LoopMetricNames.hostState, LoopMetricNames.imbalance, LoopMetricNames.threshold,
    ]
    .contains(name) {
      #expect(metrics.help[name] != nil, "\(name) missing before the first round")
    }
    if let problems = try await ExternalTool.promtoolProblems(text) { Issue.record("\(problems)\n\(text)") }
  }

  @Test func hostileHostNamesStayInsideTheirLabel() async throws {
    let telemetry = endpoint.telemetry
    var report = Self.report()
    report.hosts = [HostView(name: "h\"1\\\n} evil 1", cpu: 0.5, memory: 0.5, state: .active)]
    report.excludedHosts = []
    telemetry.roundStarted()
    telemetry.roundEnded(report)
    let text = endpoint.registry.emitToString()
    #expect(!text.contains("\n} evil"))
    if let problems = try await ExternalTool.promtoolProblems(text) { Issue.record("\(problems)\n\(text)") }
  }

  @Test func aFailedRoundCountsAndKeepsTheLastGoodFigures() {
    let telemetry = endpoint.telemetry
    telemetry.roundStarted()
    telemetry.roundEnded(Self.report())
    telemetry.roundStarted()
    clock.advance(3)
    telemetry.roundFailed(HistoryLockedForTest())
    let metrics = ExpositionText(endpoint.registry.emitToString())
    #expect(metrics.value(LoopMetricNames.rounds, ["decision": "failed"]) == 1)
    #expect(metrics.value(LoopMetricNames.imbalance, ["kind": "smoothed"]) == 0.21)
    let status = telemetry.status(lease: nil)
    #expect(status.roundsFailed == 1 && status.roundsCompleted == 1)
    #expect(status.lastError == "database is locked")
  }
}

struct HistoryLockedForTest: Error, CustomStringConvertible {
  var description: String { "database is locked" }
}

/// Issue 16 on the endpoint: the rules a round found broken, counted per rule, back to 0 once
/// repaired, and listed in `/api/status`.
@Suite("rule violations on the endpoint")
struct RuleViolationMetricsTests {
  @Test func brokenRulesAreCountedPerRuleAndReturnToZeroOnceRepaired() async throws {
    let clock = ManualClock()
    let endpoint = LoopEndpoint(cluster: "demo", interval: 5, clock: clock.telemetryClock)
    let before = ExpositionText(endpoint.registry.emitToString())
    #expect(before.value(LoopMetricNames.ruleViolations, ["rule": "capacity", "kind": "capacity"]) == 0)
    #expect(before.value(LoopMetricNames.ruleViolations, ["rule": "cpu", "kind": "cpu"]) == 0)

    var broken = MetricsExportTests.report()
    broken.violations = [
      RuleViolation(
        kind: .antiAffinity, rule: "db-pair", mode: .must, hard: true, vms: ["db-1", "db-2"], hosts: ["h1"],
        sentence: "db-1 and db-2 share h1"),
      RuleViolation(
        kind: .antiAffinity, rule: "db-pair", mode: .must, hard: true, vms: ["db-3", "db-4"], hosts: ["h2"],
        sentence: "db-3 and db-4 share h2"),
      RuleViolation(
        kind: .capacity, rule: nil, mode: nil, hard: true, vms: [], hosts: ["h2"], sentence: "h2 is over capacity"),
    ]
    endpoint.telemetry.roundStarted()
    endpoint.telemetry.roundEnded(broken)
    let text = endpoint.registry.emitToString()
    let found = ExpositionText(text)
    #expect(found.value(LoopMetricNames.ruleViolations, ["rule": "db-pair", "kind": "antiAffinity"]) == 2)
    #expect(found.value(LoopMetricNames.ruleViolations, ["rule": "capacity", "kind": "capacity"]) == 1)
    #expect(found.value(LoopMetricNames.ruleViolations, ["rule": "cpu", "kind": "cpu"]) == 0)
    #expect(
      endpoint.telemetry.status(lease: nil).violations.map(\.sentence) == [
        "db-1 and db-2 share h1", "db-3 and db-4 share h2", "h2 is over capacity",
      ])
    if let problems = try await ExternalTool.promtoolProblems(text) { Issue.record("\(problems)\n\(text)") }

    endpoint.telemetry.roundStarted()
    endpoint.telemetry.roundEnded(MetricsExportTests.report())
    let repaired = ExpositionText(endpoint.registry.emitToString())
    #expect(repaired.value(LoopMetricNames.ruleViolations, ["rule": "db-pair", "kind": "antiAffinity"]) == 0)
    #expect(repaired.value(LoopMetricNames.ruleViolations, ["rule": "capacity", "kind": "capacity"]) == 0)
    #expect(endpoint.telemetry.status(lease: nil).violations.isEmpty)
  }
}
