import BallastTestSupport
import Foundation
import Testing

/// The cost model from the command line: a simulated cluster with a hidden truth, moves that
/// teach the model, `history --accuracy` and `plan --explain` saying what was learned.
@Suite("cost model (end to end)")
struct CostModelCommandTests {
  struct Report: Decodable {
    struct Summary: Decodable {
      var count: Int
      var meanAbsolute: Double
    }
    struct Figures: Decodable {
      var migrations: Int
      var totalTime: Summary
    }
    struct Stage: Decodable {
      var migration: String
      var figures: Figures
    }
    var overall: Figures
    var byKind: [String: Figures]
    var byMigration: [Stage]
  }

  @Test func movesTeachTheModelAndHistoryShowsItsAccuracy() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let db = folder.appendingPathComponent("h.sqlite").path
    let state = folder.appendingPathComponent("state.json").path
    let truth = ["BALLAST_SIMULATION_TRUTH": "7"]
    for target in ["h5", "h1", "h5", "h1", "h5"] {
      let moved = try BallastProcess.run(
        [
          "migrate", "report-1", "--to", target, "--cluster", "clusters/demo.yaml", "--state", state, "--db", db,
          "--json",
        ], environment: truth)
      #expect(moved.status == 0, "\(moved.stderr)")
    }
    let result = try BallastProcess.run(["history", "--accuracy", "--db", db, "--json"])
    #expect(result.status == 0, "\(result.stderr)")
    let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
    #expect(report.overall.migrations == 5)
    #expect(report.byKind["live"]?.migrations == 5)
    let first = try #require(report.byMigration.first { $0.migration == "1st" })
    let later = try #require(report.byMigration.first { $0.migration == "4th–9th" })
    #expect(first.figures.totalTime.meanAbsolute > 0.1, "the hidden truth differs from the file")
    #expect(later.figures.totalTime.meanAbsolute < 0.05)
    #expect(later.figures.totalTime.meanAbsolute < first.figures.totalTime.meanAbsolute / 4)

    let text = try BallastProcess.run(["history", "--accuracy", "--db", db, "--vm", "report-1"])
    #expect(text.stdout.contains("VM's 1st"))

    let explain = try BallastProcess.run(
      ["plan", "--cluster", "clusters/demo.yaml", "--explain", "report-1", "--db", db])
    #expect(explain.status == 0, "\(explain.stderr)")
    #expect(explain.stdout.contains("report-1 dirty rate"))
    #expect(explain.stdout.contains("learned, 5 migrations"))
    #expect(explain.stdout.contains("report-1 shutdown"))
  }

  @Test func learningOffInThePolicyPlansWithTheFile() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let policy = folder.appendingPathComponent("still.yaml")
    try "name: still\nmodel: {learn: false}\n".write(to: policy, atomically: true, encoding: .utf8)
    let db = folder.appendingPathComponent("h.sqlite").path
    let state = folder.appendingPathComponent("state.json").path
    for target in ["h5", "h1"] {
      let moved = try BallastProcess.run(
        [
          "migrate", "report-1", "--to", target, "--cluster", "clusters/demo.yaml", "--policy", policy.path, "--state",
          state, "--db", db, "--json",
        ], environment: ["BALLAST_SIMULATION_TRUTH": "7"])
      #expect(moved.status == 0, "\(moved.stderr)")
    }
    let explain = try BallastProcess.run(
      ["plan", "--cluster", "clusters/demo.yaml", "--policy", policy.path, "--explain", "report-1", "--db", db])
    #expect(explain.stdout.contains("learning is off"))
    #expect(!explain.stdout.contains("learned,"))
  }

  @Test func calibrateNeedsALabAndSaneOptions() throws {
    let simulated = try BallastProcess.run(["calibrate", "--cluster", "clusters/demo.yaml"])
    #expect(simulated.status != 0)
    #expect(simulated.stderr.contains("describes no lab"))
    let badRates = try BallastProcess.run(["calibrate", "--cluster", "clusters/lab.yaml", "--rates", "8,fast"])
    #expect(badRates.status != 0)
    #expect(badRates.stderr.contains("--rates takes numbers of MB/s"))
    let badLink = try BallastProcess.run(["calibrate", "--cluster", "clusters/lab.yaml", "--link", "quick"])
    #expect(badLink.stderr.contains("--link takes a rate"))
  }
}
