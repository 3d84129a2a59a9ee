import BallastEngine
import BallastModel
import Foundation
import Synchronization

/// Where a run's events go: a terminal view or JSON lines. Called from the engine's tasks.
protocol ProgressOutput: Sendable {
  func handle(_ event: EngineEvent)
  func finish(_ summary: ExecutionSummary)
}

/// Writes `text` and a newline to standard output at once.
func writeLine(_ text: String) {
  FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

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

  func finish(_ summary: ExecutionSummary) {
    let line = Self.line(for: summary)
    lock.withLock { _ in write(line) }
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

  static func line(for summary: ExecutionSummary) -> String {
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
    return line.text
  }
}

/// A live view on a terminal: one line per migration in flight (stage, round, bytes sent, what
/// is left, rate), redrawn in place; a line per move as it ends; the summary at the end.
final class TerminalOutput: ProgressOutput {
  private struct Line {
    var event: EngineEvent
    var sent: Double = 0
    /// Bytes the current pre-copy round sends (what was dirty when it began).
    var sending: Double?
    var rate: Double?
  }

  private struct State {
    var lines: [Int: Line] = [:]
    var drawn = 0
    var lastDraw = ContinuousClock.now - .seconds(1)
  }

  private let state = Mutex(State())
  private let write: @Sendable (String) -> Void
  /// Seconds since the plan started, for the time shown on lines in flight.
  private let now: @Sendable () -> Double?

  init(
    now: @escaping @Sendable () -> Double? = { nil },
    write: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) }
  ) {
    self.now = now
    self.write = write
  }

  func handle(_ event: EngineEvent) {
    state.withLock { state in
      var output = ""
      switch event.type {
      case .moveStarted:
        state.lines[event.move] = Line(event: event)
      case .stageStarted, .stageEnded, .progress:
        var line = state.lines[event.move] ?? Line(event: event)
        line.event = event
        if event.type == .progress {
          line.sent += event.figures.bytesSent ?? 0
          line.sending = event.figures.remaining
          line.rate = event.figures.bandwidthBytesPerSecond
        } else if event.type == .stageStarted, event.stage == .preCopy {
          line.sending = event.figures.remaining
        } else if event.type == .stageEnded, event.stage == .copy, let bytes = event.figures.bytesSent {
          line.sent = bytes
        }
        state.lines[event.move] = line
      case .moveEnded, .moveSkipped:
        state.lines[event.move] = nil
        output += clear(&state) + Self.finished(event) + "\n"
      }
      let wall = ContinuousClock.now
      if !output.isEmpty || wall - state.lastDraw >= .milliseconds(50) {
        if output.isEmpty { output += clear(&state) }
        output += draw(&state)
        state.lastDraw = wall
        write(output)
      }
    }
  }

  /// Redraws the lines in flight (the time on them moves even when no event comes).
  func refresh() {
    state.withLock { state in
      guard !state.lines.isEmpty else { return }
      write(clear(&state) + draw(&state))
      state.lastDraw = ContinuousClock.now
    }
  }

  func finish(_ summary: ExecutionSummary) {
    state.withLock { state in write(clear(&state)) }
    write(RunReport.text(summary) + "\n")
  }

  private func clear(_ state: inout State) -> String {
    defer { state.drawn = 0 }
    return String(repeating: "\u{1B}[1A\u{1B}[2K", count: state.drawn)
  }

  private func draw(_ state: inout State) -> String {
    let time = now()
    let lines = state.lines.sorted { $0.key < $1.key }.map { Self.describe($0.value, now: time) }
    state.drawn = lines.count
    return lines.map { $0 + "\n" }.joined()
  }

  private static func describe(_ line: Line, now: Double?) -> String {
    let event = line.event
    var text = "  \(event.vm) \(event.from) → \(event.to) \(event.kind.rawValue)"
    if let stage = event.stage { text += "  [\(stage.number)] \(stage.rawValue)" }
    if event.stage == .preCopy {
      let round = event.type == .progress ? (event.figures.round ?? -1) + 1 : 0
      text += " round \(round)"
      if let sending = line.sending { text += ", sending \(RunReport.bytes(sending))" }
    }
    if line.sent > 0 { text += "  sent \(RunReport.bytes(line.sent))" }
    if let rate = line.rate { text += " at \(Bandwidth(bytesPerSecond: rate))" }
    text += "  t+\(RunReport.seconds(max(now ?? event.at, event.at)))"
    return text
  }

  private static func finished(_ event: EngineEvent) -> String {
    let mark =
      switch event.moveOutcome {
      case .completed: "✔"
      case .skipped: "–"
      case .rolledBack: "✘"
      case .needsAttention: "!"
      case nil: "?"
      }
    var text = "\(mark) \(event.vm) \(event.from) → \(event.to) \(event.kind.rawValue)"
    text += "  \(event.moveOutcome?.rawValue ?? "ended") at t+\(RunReport.seconds(event.at))"
    if event.moveOutcome == .completed, let downtime = event.figures.downtimeMs {
      text += ", downtime \(RunReport.downtime(downtime))"
    }
    if let message = event.message, event.moveOutcome != .completed { text += " — \(message)" }
    return text
  }
}

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

  static func bytes(_ value: Double) -> String { ByteCount(Int64(max(value, 0).rounded())).description }
}
