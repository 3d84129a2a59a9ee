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

/// One round: when, the smoothed imbalance, the hosts left out, the broken rules, and the decision.
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
  /// The rules the cluster breaks this round, as the round saw it (``RuleViolations``).
  public var violations: [RuleViolation] = []
  /// Set when the round would not have balanced (holding, backing off) but repaired broken
  /// hard rules at once: what held balancing back. `decision` is then the repairs' plan.
  public var heldBack: RoundDecision?

  public init(
    at: Double, imbalance: Double, threshold: Double, excludedHosts: [String], decision: RoundDecision
  ) {
    self.at = at
    self.imbalance = imbalance
    self.threshold = threshold
    self.excludedHosts = excludedHosts
    self.decision = decision
  }

  /// Moves of the round's plan that repair broken rules.
  public var repairMoves: [PlannedMove] {
    switch decision {
    case .nothingToDo(let plan), .planned(let plan), .executed(let plan, _): plan.repairMoves
    case .balanced, .holding, .backingOff, .leaseHeld: []
    }
  }

  /// The decision in one line, for the log.
  public var line: String {
    var level = "imbalance \(format(imbalance)) (threshold \(format(threshold)))"
    if !violations.isEmpty {
      let hard = violations.filter(\.hard).count
      level +=
        ", \(violations.count) broken rule\(violations.count == 1 ? "" : "s")"
        + (hard == violations.count ? "" : " (\(hard) hard)")
    }
    if let heldBack { level += "; \(heldBackClause(heldBack)), repairing broken hard rules at once" }
    return level + ": " + decisionText
  }

  /// Why the round did not balance, for a round that only repaired.
  private func heldBackClause(_ held: RoundDecision) -> String {
    switch held {
    case .holding(let remaining): "balancing waits for the hold (\(TimeSpan(seconds: remaining)) more)"
    case .backingOff(let until, let moved):
      moved.isEmpty
        ? "backing off for \(TimeSpan(seconds: max(0, until - at)))"
        : "VMs moved outside Ballast (\(Self.names(moved))), backing off for \(TimeSpan(seconds: max(0, until - at)))"
    default: "balancing waits"
    }
  }

  /// The repairs of `plan`, as the log says them: ` (2 repair moves: db-pair, licensed)`.
  private func repairs(_ plan: MigrationPlan) -> String {
    let rules = plan.repairMoves.flatMap { $0.repairs ?? [] }.map(\.label)
    var seen = Set<String>()
    let unique = rules.filter { seen.insert($0).inserted }
    guard !unique.isEmpty else { return "" }
    let count = plan.repairMoves.count
    return " (\(count) repair move\(count == 1 ? "" : "s"): \(Self.names(unique)))"
  }

  private var decisionText: String {
    let excluded = excludedHosts.isEmpty ? "" : "; left out (not seen): \(excludedHosts.joined(separator: ", "))"
    switch decision {
    case .balanced:
      return "balanced, nothing to do\(excluded)"
    case .holding(let remaining):
      return "above the threshold, acting if it lasts \(TimeSpan(seconds: remaining)) more\(excluded)"
    case .backingOff(let until, let moved):
      return
        "VMs moved outside Ballast (\(Self.names(moved))); backing off for \(TimeSpan(seconds: max(0, until - at)))"
    case .nothingToDo(let plan):
      let why = plan.refusal ?? plan.notes.first ?? "no move gains enough"
      return "planned no moves — \(why)\(excluded)"
    case .planned(let plan):
      return
        "dry run, would move \(plan.moves.count) VMs\(repairs(plan)) to reach \(format(plan.after.imbalance))\(excluded)"
    case .executed(let plan, let summary):
      return "moved \(summary.done) of \(plan.moves.count) VMs\(repairs(plan))"
        + (summary.failed + summary.skipped > 0 ? " (\(summary.failed) rolled back, \(summary.skipped) skipped)" : "")
        + (summary.needsAttention > 0 ? ", \(summary.needsAttention) NEED ATTENTION" : "")
        + "; planned imbalance after \(format(plan.after.imbalance))\(excluded)"
    case .leaseHeld(let holder):
      return "another Ballast process is migrating on this cluster (\(holder)); skipping this round"
    }
  }

  private static func names(_ items: [String]) -> String {
    items.prefix(5).joined(separator: ", ") + (items.count > 5 ? "…" : "")
  }

  private func format(_ x: Double) -> String { String(format: "%.3f", x) }
}
