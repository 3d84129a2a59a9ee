import BallastHistory
import BallastTestSupport
import Foundation
import Testing

/// Commands with `--db postgresql://…`: a migration recorded in PostgreSQL, read by `history`,
/// copied into SQLite and back by `db copy`, and `db bench` on both.
@Suite("PostgreSQL from the command line (end to end)")
struct PostgresCommandTests {
  @Test(.timeLimit(.minutes(2)))
  func migrateHistoryAndCopyBothWays() async throws {
    try await PostgresTestServer.withDatabase { server, source in
      try await PostgresTestServer.withDatabase { _, back in
        let workspace = try ProcessWorkspace()
        defer { workspace.remove() }
        let url = server.url(database: source)
        let files = ["--cluster", "slow.yaml", "--policy", "patient.yaml", "--state", "state.json", "--db", url]

        let migrate = try await workspace.run(["migrate", "web", "--to", "h2", "--live", "--pace", "1000"] + files)
        #expect(migrate.status == 0, "\(migrate.stdout) \(migrate.stderr)")
        let history = try await workspace.run(["history", "--db", url, "--json"])
        #expect(history.status == 0, "\(history.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any])
        let moves = try #require(object["migrations"] as? [[String: Any]])
        #expect(moves.count == 1)
        #expect(moves.first?["vm"] as? String == "web")
        #expect(moves.first?["outcome"] as? String == "completed")

        let file = workspace.folder.appendingPathComponent("copy.sqlite").path
        let copied = try await workspace.run(["db", "copy", "--from", url, "--to", file, "--json"])
        #expect(copied.status == 0, "\(copied.stderr)")
        let tables = try ProcessWorkspace.jsonLines(copied.stdout).filter { $0["event"] as? String == "table" }
        #expect(!tables.isEmpty && tables.allSatisfy { ($0["sourceRows"] as? Int) == ($0["copiedRows"] as? Int) })
        #expect(tables.first { $0["table"] as? String == "moves" }?["copiedRows"] as? Int == 1)
        let fromFile = try await workspace.run(["history", "--db", file, "--json"])
        #expect(fromFile.stdout == history.stdout)

        let again = try await workspace.run(["db", "copy", "--from", file, "--to", server.url(database: back)])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("every table's row count matches"))
        let refused = try await workspace.run(["db", "copy", "--from", file, "--to", server.url(database: back)])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("already holds a history"), "\(refused.stderr)")
        let withPassword = try await workspace.run(["history", "--db", "postgresql://u:pw@127.0.0.1/x"])
        #expect(withPassword.status != 0)
        #expect(withPassword.stderr.contains("holds a password") && !withPassword.stderr.contains("pw@"))
      }
    }
  }

  @Test(.timeLimit(.minutes(2)))
  func benchCountsCommitsOnBothBackends() async throws {
    try await PostgresTestServer.withDatabase { server, database in
      let folder = try BallastProcess.temporaryFolder()
      defer { try? FileManager.default.removeItem(at: folder) }
      for db in [folder.appendingPathComponent("bench.sqlite").path, server.url(database: database)] {
        let result = try await BallastProcess.running(
          ["db", "bench", "--db", db, "--moves", "3", "--json"], in: folder)
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(try ProcessWorkspace.jsonLines(result.stdout).first)
        #expect(line["commits"] as? Int == 3 * 14 + 2)
        #expect((line["commitsPerSecond"] as? Double ?? 0) > 0)
        let again = try await BallastProcess.running(["db", "bench", "--db", db, "--moves", "3"], in: folder)
        #expect(again.status != 0 && again.stderr.contains("already holds a history"), "\(again.stderr)")
      }
    }
  }
}
