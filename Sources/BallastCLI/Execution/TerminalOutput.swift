import BallastEngine
import BallastModel
import Foundation
import Synchronization

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
