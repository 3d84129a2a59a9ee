import BallastModel
import BallastRuntime

extension ManualMove {
  /// One sentence on how `move` goes and what it is predicted to cost.
  static func describe(_ move: PlannedMove) -> String {
    let predicted = move.predicted
    var text = "\(move.vm): \(move.from) → \(move.to), \(move.kind.rawValue)"
    if move.requiresShutdown { text += " (shut down, moved, started again)" }
    text += "; predicted \(RunReport.seconds(predicted.seconds)), downtime \(RunReport.downtime(predicted.downtimeMs))"
    text += ", \(RunReport.bytes(predicted.bytes))"
    if move.kind == .live {
      text += " in \(predicted.rounds) pre-copy round\(predicted.rounds == 1 ? "" : "s")"
      if predicted.throttle > 0 { text += ", guest throttled to \(Int(((1 - predicted.throttle) * 100).rounded())) %" }
    } else if !move.disksToCopy.isEmpty {
      text += " (with \(move.disksToCopy.count) disk\(move.disksToCopy.count == 1 ? "" : "s") copied)"
    }
    return text
  }
}
