import BallastEngine
import BallastModel

/// What one balancing round decided, and why: one log line each.
public enum RoundDecision: Sendable {
  /// Imbalance within the threshold.
  case balanced
  /// Above the threshold, but not yet for the hold time.
  case holding(remaining: Double)
  /// VMs moved under the loop (an operator or another tool): wait before acting again.
  case backingOff(until: Double, moved: [String])
  /// A plan was made and had nothing worth doing (or was refused).
  case nothingToDo(MigrationPlan)
  /// Dry run: the plan that would run.
  case planned(MigrationPlan)
  /// The plan ran.
  case executed(MigrationPlan, ExecutionSummary)
  /// Another Ballast process holds the cluster's lease (a drain, say): this round moves nothing.
  case leaseHeld(String)
}

extension RoundDecision {
  /// The decision's name, for logs and JSON.
  public var name: String {
    switch self {
    case .balanced: "balanced"
    case .holding: "holding"
    case .backingOff: "backingOff"
    case .nothingToDo: "nothingToDo"
    case .planned: "planned"
    case .executed: "executed"
    case .leaseHeld: "leaseHeld"
    }
  }
}

/// One round: when, the smoothed imbalance, the hosts left out, and the decision.
public struct RoundReport: Sendable {
  public var at: Double
  public var imbalance: Double
  public var threshold: Double
  /// Hosts neither source nor destination this round (not seen, or samples too old).
  public var excludedHosts: [String]
  /// The imbalance of the load as measured this round (not smoothed), over the same hosts.
  public var measuredImbalance: Double?
  /// Each host's utilization as measured this round, hosts left out in maintenance.
  public var hosts: [HostView] = []
  /// Real seconds the planner took, when the round planned.
  public var planningSeconds: Double?
  public var decision: RoundDecision

  /// The decision in one line, for the log.
  public var line: String {
    let level = "imbalance \(format(imbalance)) (threshold \(format(threshold)))"
    let excluded = excludedHosts.isEmpty ? "" : "; left out (not seen): \(excludedHosts.joined(separator: ", "))"
    switch decision {
    case .balanced:
      return "\(level): balanced, nothing to do\(excluded)"
    case .holding(let remaining):
      return "\(level): above the threshold, acting if it lasts \(TimeSpan(seconds: remaining)) more\(excluded)"
    case .backingOff(let until, let moved):
      let who = moved.prefix(5).joined(separator: ", ") + (moved.count > 5 ? "…" : "")
      return "\(level): VMs moved outside Ballast (\(who)); backing off for \(TimeSpan(seconds: max(0, until - at)))"
    case .nothingToDo(let plan):
      let why = plan.refusal ?? plan.notes.first ?? "no move gains enough"
      return "\(level): planned no moves — \(why)\(excluded)"
    case .planned(let plan):
      return "\(level): dry run, would move \(plan.moves.count) VMs to reach \(format(plan.after.imbalance))\(excluded)"
    case .executed(let plan, let summary):
      return "\(level): moved \(summary.done) of \(plan.moves.count) VMs"
        + (summary.failed + summary.skipped > 0 ? " (\(summary.failed) rolled back, \(summary.skipped) skipped)" : "")
        + (summary.needsAttention > 0 ? ", \(summary.needsAttention) NEED ATTENTION" : "")
        + "; planned imbalance after \(format(plan.after.imbalance))\(excluded)"
    case .leaseHeld(let holder):
      return "\(level): another Ballast process is migrating on this cluster (\(holder)); skipping this round"
    }
  }

  private func format(_ x: Double) -> String { String(format: "%.3f", x) }
}
