import Foundation

/// What `/healthz` and `/readyz` answer: whether, and why.
public struct HealthVerdict: Sendable, Hashable, Codable {
  /// `ok` (HTTP 200) or `unhealthy` / `notReady` (HTTP 503).
  public var status: String
  /// Why, in an operator's words.
  public var reason: String

  public var ok: Bool { status == "ok" }

  static func ok(_ reason: String) -> HealthVerdict { HealthVerdict(status: "ok", reason: reason) }
  static func unhealthy(_ reason: String) -> HealthVerdict { HealthVerdict(status: "unhealthy", reason: reason) }
  static func notReady(_ reason: String) -> HealthVerdict { HealthVerdict(status: "notReady", reason: reason) }
}

/// The facts about a running loop that health and readiness are judged on. Times are on the
/// monotonic clock (``TelemetryClock/monotonic``).
public struct LoopFacts: Sendable, Hashable {
  /// When the loop (the process) started.
  public var startedAt: Double
  /// When the round now running started; `nil` between rounds.
  public var roundStartedAt: Double?
  /// When the last round that did not fail ended.
  public var lastRoundEndedAt: Double?
  /// Rounds that failed since the last one that did not (0 when the last one did not).
  public var failuresSinceLastRound = 0
  /// The last failed round's error.
  public var lastError: String?
  /// Migrations started and not ended.
  public var movesInFlight = 0
  /// When the engine last reported anything (a stage, a pre-copy round, a move's end).
  public var lastEngineEventAt: Double?
  /// A round has sampled every host of the cluster (none left out).
  public var sampledEveryHost = false
  /// Hosts the last round left out (not reported, or samples too old).
  public var hostsLeftOut: [String] = []
  /// The loop was asked to stop.
  public var stopping = false
  /// Set while this instance stands by for another (high availability): who leads.
  public var standingByFor: String?
  /// When the standby last checked the leader.
  public var lastStandbyCheckAt: Double?

  public init(startedAt: Double) { self.startedAt = startedAt }
}

/// Judges a loop's health and readiness from its ``LoopFacts``.
///
/// Healthy (`/healthz` 200) while rounds complete on time: the last one within two intervals.
/// A round that is still running counts as on time while it started within two intervals, or
/// while it migrates and the engine reported progress within two intervals (a long migration
/// whose stages advance is not a stalled loop). A loop whose rounds keep failing is unhealthy
/// once two intervals pass without a round completing; a loop that was asked to stop stays
/// healthy while it finishes its migrations. A standby instance is healthy while it keeps
/// checking the leader.
///
/// Ready (`/readyz` 200) when healthy, active (not a standby, not stopping), and once a round
/// has sampled every host.
public struct LoopHealth: Sendable {
  /// Real seconds between the starts of two rounds.
  public var interval: Double

  public init(interval: Double) { self.interval = interval }

  /// How late a round may be: two intervals, and never less than ``minimumLimit`` (a
  /// simulated cluster at a high `--pace` starts rounds every 50 ms of real time; a round's own
  /// sampling and planning can take longer than two of those on a busy machine).
  public var limit: Double { max(2 * interval, Self.minimumLimit) }

  /// The shortest lateness that makes a loop unhealthy, in real seconds.
  public static let minimumLimit = 2.0

  public func health(_ facts: LoopFacts, now: Double) -> HealthVerdict {
    if let leader = facts.standingByFor {
      let checked = facts.lastStandbyCheckAt ?? facts.startedAt
      return now - checked <= limit
        ? .ok("standing by: \(leader) balances the cluster")
        : .unhealthy("standing by for \(leader), but the last check of the leader was \(ago(now - checked))")
    }
    if facts.stopping {
      return .ok("stopping: \(facts.movesInFlight) migration(s) in flight finish or abort, then the loop exits")
    }
    if let ended = facts.lastRoundEndedAt, now - ended <= limit {
      return .ok("the last round completed \(ago(now - ended))")
    }
    if facts.failuresSinceLastRound == 0 {
      if let started = facts.roundStartedAt, now - started <= limit {
        return .ok("a round is running, started \(ago(now - started))")
      }
      if facts.lastRoundEndedAt == nil, facts.roundStartedAt == nil, now - facts.startedAt <= limit {
        return .ok("starting: the first round has not begun yet")
      }
    }
    if facts.roundStartedAt != nil, facts.movesInFlight > 0, let event = facts.lastEngineEventAt,
      now - event <= limit
    {
      return .ok("migrating: \(facts.movesInFlight) migration(s) in flight, last progress \(ago(now - event))")
    }
    let since = facts.lastRoundEndedAt.map { "the last round completed \(ago(now - $0))" } ?? "no round has completed"
    var reason = "\(since), more than two intervals (\(seconds(limit)))"
    if facts.failuresSinceLastRound > 0 {
      reason += "; the last \(facts.failuresSinceLastRound) round(s) failed: \(facts.lastError ?? "unknown error")"
    } else if let started = facts.roundStartedAt {
      reason += "; the round running started \(ago(now - started))"
      if facts.movesInFlight > 0 {
        let progress = facts.lastEngineEventAt.map { "last progress \(ago(now - $0))" } ?? "no progress reported"
        reason += " and has \(facts.movesInFlight) migration(s) in flight, \(progress)"
      }
    }
    return .unhealthy(reason)
  }

  public func readiness(_ facts: LoopFacts, now: Double) -> HealthVerdict {
    if let leader = facts.standingByFor { return .notReady("standing by: \(leader) balances the cluster") }
    if facts.stopping { return .notReady("stopping") }
    let health = self.health(facts, now: now)
    guard health.ok else { return .notReady(health.reason) }
    guard facts.sampledEveryHost else {
      if facts.lastRoundEndedAt == nil { return .notReady("no round has sampled the hosts yet") }
      return .notReady(
        "no round has sampled every host yet; the last one left out \(facts.hostsLeftOut.joined(separator: ", "))")
    }
    return .ok("balancing: \(health.reason)")
  }

  private func ago(_ elapsed: Double) -> String { "\(seconds(elapsed)) ago" }

  private func seconds(_ value: Double) -> String { String(format: "%.1fs", max(0, value)) }
}
