import BallastEngine
import Foundation

/// Where a run's events go: a terminal view or JSON lines. Called from the engine's tasks.
protocol ProgressOutput: Sendable {
  func handle(_ event: EngineEvent)
  func finish(_ summary: ExecutionSummary)
}

/// Writes `text` and a newline to standard output at once.
func writeLine(_ text: String) {
  FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
