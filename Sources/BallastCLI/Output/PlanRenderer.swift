import BallastModel
import Foundation

/// Prints plans for people (`text`) and programs (`json`).
enum PlanRenderer {
  /// Rejections listed in the text before pointing at `--json` (a refusal lists them all).
  static let rejectionLines = 40

  /// The plan as JSON (see ``PlanJSON``); `planMillis` nil leaves the timing out.
  static func json(_ plan: MigrationPlan, planMillis: Double?) throws -> String {
    try JSONOutput.string(PlanJSON(plan, planMillis: planMillis))
  }

  /// The plan as text: headline, moves, schedule, hosts before → after, rejections, notes.
  static func text(_ plan: MigrationPlan, policy: Policy, drained: String? = nil, planMillis: Double?) -> String {
    var out: [String] = []
    let imbalance = "imbalance \(fixed(plan.before.imbalance, 3)) → \(fixed(plan.after.imbalance, 3))"
    let moves = "\(plan.moves.count) move\(plan.moves.count == 1 ? "" : "s")"
    if let refusal = plan.refusal {
      out.append("REFUSED — \(refusal)")
    } else if let drained {
      out.append(
        "Drain plan for \(drained) in cluster \(plan.cluster), policy \(plan.policy): \(moves), "
          + "predicted to finish in \(duration(plan.predictedMakespanSeconds)); \(imbalance)")
    } else {
      out.append("Balance plan for cluster \(plan.cluster), policy \(plan.policy): \(moves), \(imbalance)")
    }

    if !plan.moves.isEmpty {
      out.append("")
      out.append("Moves, in start order:")
      for (i, move) in plan.moves.enumerated() { out += lines(for: move, position: i + 1) }
      out.append("")
      out.append(
        "Predicted makespan: \(duration(plan.predictedMakespanSeconds)) "
          + "(at most \(policy.concurrency.perHost) migrations per host, \(policy.concurrency.cluster) in the cluster)")
    }

    if plan.refusal == nil {
      out.append("")
      let weights = policy.weights.normalized
      out.append("Hosts (weighted load = \(fixed(weights.cpu, 2)) × CPU + \(fixed(weights.memory, 2)) × memory):")
      var table = TextTable(["HOST", "STATE", "CPU before → after", "MEMORY before → after"])
      for (before, after) in zip(plan.before.hosts, plan.after.hosts) {
        let state =
          before.state == after.state ? after.state.rawValue : "\(before.state.rawValue) → \(after.state.rawValue)"
        table.add([
          before.name, state, "\(percent(before.cpu)) → \(percent(after.cpu))",
          "\(percent(before.memory)) → \(percent(after.memory))",
        ])
      }
      out.append(table.render())
      out.append(
        "Imbalance: \(fixed(plan.before.imbalance, 3)) → \(fixed(plan.after.imbalance, 3)) (threshold \(policy.threshold))"
      )
    }

    if !plan.rejected.isEmpty {
      out.append("")
      out.append(
        plan.refusal == nil ? "Considered and rejected (\(plan.rejected.count)):" : "Why (\(plan.rejected.count)):")
      let shown = plan.refusal == nil ? Array(plan.rejected.prefix(rejectionLines)) : plan.rejected
      var table = TextTable(["VM", "HOST", "FILTER", "REASON"])
      for rejection in shown {
        table.add([rejection.vm, rejection.host ?? "—", rejection.filter, rejection.reason])
      }
      out.append(table.render().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
      if shown.count < plan.rejected.count {
        out.append("  … and \(plan.rejected.count - shown.count) more (--json lists them all)")
      }
    }

    if !plan.notes.isEmpty {
      out.append("")
      out.append("Notes:")
      out += plan.notes.map { "  - \($0)" }
    }
    if let planMillis {
      out.append("")
      out.append("Planned in \(fixed(planMillis, 1)) ms; nothing was moved.")
    }
    return out.joined(separator: "\n")
  }

  private static func lines(for move: PlannedMove, position: Int) -> [String] {
    let predicted = move.predicted
    var cost = "takes ~\(duration(predicted.seconds))"
    if move.kind == .live {
      cost +=
        ", pause \(duration(predicted.downtimeMs / 1000)), \(predicted.rounds) round\(predicted.rounds == 1 ? "" : "s")"
      if predicted.throttle > 0 { cost += ", guest throttled \(percent(predicted.throttle))" }
    } else if move.requiresShutdown {
      cost += ", VM down ~\(duration(predicted.downtimeMs / 1000)) (shut down, moved, restarted)"
    }
    cost += ", sends \(ByteCount(clamping: predicted.bytes))"
    var lines = [
      "  \(position). \(move.vm)  \(move.from) → \(move.to)  \(move.kind.rawValue)  "
        + "starts at \(move.plannedStartSeconds > 0 ? "+" + duration(move.plannedStartSeconds) : "0s"), \(cost)",
      "     why:   \(move.reason)",
    ]
    if !move.score.isEmpty {
      let total = move.score.reduce(0) { $0 + $1.weight * $1.value }
      let terms = move.score.map { "\($0.name) \(number($0.weight)) × \(number($0.value))" }.joined(separator: " + ")
      lines.append("     score: \(number(total)) = \(terms)")
    }
    if !move.disksToCopy.isEmpty {
      let disks = move.disksToCopy.map { "\($0.datastore) (\($0.size))" }.joined(separator: ", ")
      lines.append("     copies disks: \(disks)")
    }
    if !move.dependsOn.isEmpty {
      lines.append(
        "     waits for: " + move.dependsOn.map { "#\($0 + 1)" }.joined(separator: ", ")
          + " (they free the room it needs)")
    }
    return lines
  }

  // MARK: Formatting

  static func fixed(_ x: Double, _ places: Int) -> String { String(format: "%.\(places)f", x) }

  static func number(_ x: Double) -> String {
    let rounded = (x * 100).rounded() / 100
    return rounded == rounded.rounded() ? String(format: "%.0f", rounded) : String(format: "%.2f", rounded)
  }

  /// `0.25` → `25%`; values that are not finite (a damaged history) as `?%`.
  static func percent(_ fraction: Double) -> String {
    let percent = (fraction * 100).rounded()
    guard percent.isFinite, abs(percent) < 1e15 else {
      return fraction.isNaN ? "?%" : String(format: "%.3g%%", percent)
    }
    return "\(Int(percent))%"
  }

  static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, abs(seconds) < 1e15 else { return seconds.isFinite ? fixed(seconds / 3600, 0) + "h" : "?" }
    let seconds = max(seconds, 0)
    if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
    if seconds < 60 { return fixed(seconds, 1) + "s" }
    let whole = Int(seconds.rounded())
    if whole < 3600 { return "\(whole / 60)m \(whole % 60)s" }
    return "\(whole / 3600)h \((whole % 3600) / 60)m"
  }
}
