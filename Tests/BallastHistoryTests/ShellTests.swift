import BallastEngine
import BallastModel
import Foundation
import Testing

@testable import BallastHistory

private let sqliteShell = "/usr/bin/sqlite3"

@Suite("sqlite3 shell")
struct ShellTests {
  /// The fields an operator looks for are plain columns and JSON text, not blobs.
  @Test(
    "the history reads in the plain sqlite3 shell",
    .enabled(if: FileManager.default.isExecutableFile(atPath: sqliteShell)))
  func readableInTheShell() async throws {
    try await withStore { store, _ in
      let move = liveMove("web1", from: "h1", to: "h2")
      let planID = try await store.recordPlan(plan([move]), dryRun: false, at: 1_767_225_600)
      let id = try await store.moveStarted(plan: planID, index: 0, move: move, at: 1_767_225_601)
      try await store.stageIntent(move: id, stage: .preCopy, at: 1_767_225_602)
      try await store.stageOutcome(
        move: id, stage: .preCopy, outcome: .succeeded, at: 1_767_225_610,
        figures: StageFigures(round: 3, bytesSent: 1.5e9), error: nil)
      try await store.recordHostStateChange(
        HostStateChange(cluster: "lab", host: "h1", maintenance: true, by: "alice", reason: "BIOS", at: 5))

      let output = try runShell(
        store.path,
        """
        SELECT vm, from_host, to_host, kind, started FROM move_history;
        SELECT stage, json_extract(figures, '$.round'), figures FROM stages;
        SELECT json_extract(hosts_before, '$[0].name'), json_extract(rejected, '$[0].filter') FROM plans;
        SELECT host, maintenance, changed_by, reason FROM host_state_changes;
        SELECT count(*) FROM pragma_table_info('moves') WHERE type = 'BLOB';
        """)
      let lines = output.split(separator: "\n").map(String.init)
      #expect(
        lines == [
          "web1|h1|h2|live|2026-01-01 00:00:01",
          #"preCopy|3|{"bytesSent":1500000000,"round":3}"#,
          "h1|cpuModel",
          "h1|1|alice|BIOS",
          "0",
        ])
    }
  }
}

private func runShell(_ path: String, _ sql: String) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: sqliteShell)
  process.arguments = ["-readonly", path, sql]
  let pipe = Pipe()
  process.standardOutput = pipe
  try process.run()
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return String(decoding: data, as: UTF8.self)
}
