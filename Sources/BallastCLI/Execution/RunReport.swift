import BallastEngine
import BallastModel
import Foundation

/// The human summary of a run.
enum RunReport {
  static func text(_ summary: ExecutionSummary) -> String {
    var lines: [String] = []
    var moves = "Moves: \(summary.done) done, \(summary.skipped) skipped, \(summary.failed) failed"
    if summary.needsAttention > 0 { moves += ", \(summary.needsAttention) NEED ATTENTION" }
    if summary.cancelled { moves += " (cancelled)" }
    lines.append(moves)
    lines.append(
      "Downtime: total \(downtime(summary.totalDowntimeMs)), max \(downtime(summary.maxDowntimeMs))")
    lines.append(
      "Makespan: \(seconds(summary.makespanSeconds)) (lower bound \(seconds(summary.lowerBoundSeconds))), "
        + "\(bytes(summary.bytesMoved)) moved")
    for result in summary.results where result.outcome != .completed {
      let move = result.move
      lines.append(
        "  \(result.outcome.rawValue): \(move.vm) \(move.from) → \(move.to): \(result.reason ?? "no reason given")")
    }
    return lines.joined(separator: "\n")
  }

  static func seconds(_ value: Double) -> String {
    value >= 3600 ? String(format: "%.2f h", value / 3600) : String(format: "%.1f s", value)
  }

  /// A downtime in milliseconds, in seconds once it is long.
  static func downtime(_ milliseconds: Double) -> String {
    milliseconds >= 10_000 ? String(format: "%.1f s", milliseconds / 1000) : String(format: "%.0f ms", milliseconds)
  }

  static func bytes(_ value: Double) -> String { ByteCount(clamping: value).description }
}
