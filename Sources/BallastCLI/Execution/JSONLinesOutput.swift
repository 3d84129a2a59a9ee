import BallastEngine
import Synchronization

/// One JSON object per event and a last `summary` line, for scripts and pipes.
///
/// `{"event":"stage","vm",…,"kind","stage","name","phase","at",…figures}` for stages,
/// `{"event":"move","phase":"started|ended|skipped",…}` for moves, then
/// `{"event":"summary","done","skipped","failed","needsAttention","totalDowntimeMs","maxDowntimeMs",
/// "makespanSeconds","lowerBoundSeconds",…}`.
final class JSONLinesOutput: ProgressOutput {
  private let write: @Sendable (String) -> Void
  private let lock = Mutex(())

  init(write: @escaping @Sendable (String) -> Void = writeLine) { self.write = write }

  func handle(_ event: EngineEvent) {
    let line = Self.line(for: event)
    lock.withLock { _ in write(line) }
  }

  func finish(_ summary: ExecutionSummary) { write(Self.summaryLine(for: summary)) }

  /// Writes `line` (a summary line with a command's own keys added, say).
  func write(_ line: JSONLine) {
    let text = line.text
    lock.withLock { _ in write(text) }
  }

  static func line(for event: EngineEvent) -> String {
    let isStage = [.stageStarted, .stageEnded, .progress].contains(event.type)
    var line = JSONLine(event: isStage ? "stage" : "move")
    line.add("vm", event.vm)
    line.add("move", event.move)
    line.add("kind", event.kind.rawValue)
    line.add("from", event.from)
    line.add("to", event.to)
    if let stage = event.stage {
      line.add("stage", stage.number)
      line.add("name", stage.rawValue)
    }
    let phase: String =
      switch event.type {
      case .moveStarted, .stageStarted: "started"
      case .stageEnded, .moveEnded: "ended"
      case .progress: "round"
      case .moveSkipped: "skipped"
      }
    line.add("phase", phase)
    line.add("outcome", event.stageOutcome?.rawValue ?? event.moveOutcome?.rawValue)
    line.add("at", event.at)
    line.add("time", event.time, decimals: 3)
    let figures = event.figures
    line.add("round", figures.round)
    line.add("bytesSent", figures.bytesSent, decimals: 0)
    line.add("bytesDirtied", figures.bytesDirtied, decimals: 0)
    line.add("remaining", figures.remaining, decimals: 0)
    line.add("bandwidthBytesPerSecond", figures.bandwidthBytesPerSecond, decimals: 0)
    line.add("downtimeMs", figures.downtimeMs, decimals: 3)
    line.add("throttle", figures.throttle, decimals: 3)
    line.add("checksum", figures.checksum)
    line.add("note", figures.note)
    line.add(event.type == .moveStarted ? "reason" : "message", event.message)
    return line.text
  }

  static func line(for summary: ExecutionSummary) -> String { summaryLine(for: summary).text }

  static func summaryLine(for summary: ExecutionSummary) -> JSONLine {
    var line = JSONLine(event: "summary")
    line.add("done", summary.done)
    line.add("skipped", summary.skipped)
    line.add("failed", summary.failed)
    line.add("needsAttention", summary.needsAttention)
    line.add("totalDowntimeMs", summary.totalDowntimeMs, decimals: 3)
    line.add("maxDowntimeMs", summary.maxDowntimeMs, decimals: 3)
    line.add("makespanSeconds", summary.makespanSeconds, decimals: 3)
    line.add("lowerBoundSeconds", summary.lowerBoundSeconds, decimals: 3)
    line.add("bytesMoved", summary.bytesMoved, decimals: 0)
    line.add("cancelled", summary.cancelled)
    return line
  }
}
