import BallastEngine
import BallastRuntime
import Logging

/// Prints what `reconcile` did with each move a killed process left in flight: a line each,
/// or one JSON object each (`{"event":"reconciled","move","vm","from","to","kind","resolution","detail"}`).
enum ReconcileOutput {
  /// `rolledBack`, `completed`, `needsAttention` or `unresolved`.
  static func name(_ resolution: ReconcileResult.Resolution) -> String {
    switch resolution {
    case .finished(let outcome): outcome.rawValue
    case .unresolved: "unresolved"
    }
  }

  static func line(_ result: ReconcileResult) -> String {
    var line = JSONLine(event: "reconciled")
    line.add("move", Int(result.move))
    line.add("vm", result.vm)
    line.add("from", result.from)
    line.add("to", result.to)
    line.add("kind", result.kind.rawValue)
    line.add("resolution", name(result.resolution))
    line.add("detail", result.detail)
    return line.text
  }

  static func text(_ result: ReconcileResult) -> String {
    let what: String =
      switch result.resolution {
      case .finished(.completed): "completed"
      case .finished(.rolledBack): "rolled back"
      case .finished(.needsAttention): "NEEDS ATTENTION"
      case .finished(let other): other.rawValue
      case .unresolved: "UNRESOLVED"
      }
    return "  move \(result.move): \(result.vm) \(result.from) → \(result.to) \(result.kind.rawValue): \(what) — "
      + result.detail
  }

  /// Prints `results` (nothing when there are none).
  static func print(_ results: [ReconcileResult], json: Bool) {
    guard !results.isEmpty else { return }
    if json {
      for result in results { writeLine(line(result)) }
      return
    }
    writeLine(
      "Reconciled \(results.count) migration\(results.count == 1 ? "" : "s") an earlier process left in flight:")
    for result in results { writeLine(text(result)) }
  }

  /// Reconciles what a killed process left in flight on the session's cluster (call it holding
  /// the lease), prints it, and refuses to go on while any move stays unresolved.
  static func reconcileFirst(_ session: ClusterSession, json: Bool, logging: LoggingOptions) async throws {
    let results = try await session.reconcileHoldingLease(logger: logging.detailLogger("ballast.reconcile"))
    print(results, json: json)
    try ClusterSession.requireSettled(results)
  }
}
