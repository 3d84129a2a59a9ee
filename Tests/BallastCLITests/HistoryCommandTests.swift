import BallastEngine
import BallastHistory
import BallastModel
import BallastTestSupport
import Foundation
import Testing

/// A history database with a completed live move, a rolled-back cold move and a dry run.
private func makeHistory(in folder: URL) async throws -> (path: String, live: MoveID, cold: MoveID) {
  let path = folder.appendingPathComponent("history.sqlite").path
  let store = try HistoryStore(path: path)
  let now = Date().timeIntervalSince1970
  let live = PlannedMove(
    vm: "web1", from: "h1", to: "h2", kind: .live, reason: "h1 is the hottest host",
    predicted: PredictedCost(seconds: 12, downtimeMs: 80, bytes: 4.2e9, rounds: 4, converges: true))
  let cold = PlannedMove(
    vm: "db1", from: "h1", to: "h3", kind: .cold, reason: "drain h1",
    predicted: PredictedCost(seconds: 40, downtimeMs: 40_000, bytes: 2.5e10, rounds: 0, converges: true))
  let view = { (imbalance: Double) in ClusterView(imbalance: imbalance, hosts: []) }
  let planID = try await store.recordPlan(
    MigrationPlan(
      trigger: .balance, cluster: "lab", policy: "balanced", moves: [live, cold], rejected: [], before: view(0.31),
      after: view(0.08)),
    dryRun: false, at: now - 3 * 3600)
  let liveID = try await store.moveStarted(plan: planID, index: 0, move: live, at: now - 3 * 3600)
  var t = now - 3 * 3600
  for stage in MigrationStage.stages(for: .live) {
    try await store.stageIntent(move: liveID, stage: stage, at: t)
    t += 2
    let figures = stage == .preCopy ? StageFigures(round: 4, bytesSent: 4.4e9, remaining: 2e7) : StageFigures()
    try await store.stageOutcome(move: liveID, stage: stage, outcome: .succeeded, at: t, figures: figures, error: nil)
  }
  try await store.moveFinished(
    move: liveID, outcome: .completed, measured: MeasuredCost(seconds: 12, downtimeMs: 92, bytes: 4.4e9, rounds: 5),
    at: t, detail: nil)
  let coldID = try await store.moveStarted(plan: planID, index: 1, move: cold, at: now - 600)
  try await store.stageIntent(move: coldID, stage: .verifyOff, at: now - 600)
  try await store.stageOutcome(
    move: coldID, stage: .verifyOff, outcome: .failed, at: now - 599, figures: StageFigures(),
    error: "db1 did not shut down within 2m")
  try await store.moveFinished(move: coldID, outcome: .rolledBack, measured: nil, at: now - 599, detail: "left on h1")
  try await store.planFinished(plan: planID, measuredImbalanceAfter: 0.12, at: now - 590)
  _ = try await store.recordPlan(
    MigrationPlan(
      trigger: .drain, cluster: "lab", policy: "maintenance", moves: [live], rejected: [], before: view(0.2),
      after: view(0.1)),
    dryRun: true, at: now - 60)
  return (path, liveID, coldID)
}

@Suite("history (end to end)")
struct HistoryCommandTests {
  @Test func listsMigrationsWithPredictedAndMeasured() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (path, _, _) = try await makeHistory(in: folder)
    let result = try BallastProcess.run(["history", "--db", path])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(lines.count == 3)
    #expect(lines[0].hasPrefix("ID"))
    #expect(lines[1].contains("db1") && lines[1].contains("cold") && lines[1].contains("rolledBack"))
    #expect(lines[2].contains("web1") && lines[2].contains("h1 → h2"))
    #expect(lines[2].contains("12s / 12s"))
    #expect(lines[2].contains("80ms / 92ms"))
    #expect(lines[2].contains("completed"))
  }

  @Test func filtersAndJSON() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (path, live, cold) = try await makeHistory(in: folder)
    func ids(_ arguments: [String]) throws -> [Int] {
      let result = try BallastProcess.run(["history", "--db", path, "--json"] + arguments)
      #expect(result.status == 0, "\(result.stderr)")
      let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
      let migrations = try #require(object["migrations"] as? [[String: Any]])
      return migrations.compactMap { $0["id"] as? Int }
    }
    #expect(try ids([]) == [Int(cold), Int(live)])
    #expect(try ids(["--failed"]) == [Int(cold)])
    #expect(try ids(["--kind", "live"]) == [Int(live)])
    #expect(try ids(["--vm", "db1"]) == [Int(cold)])
    #expect(try ids(["--host", "h2"]) == [Int(live)])
    #expect(try ids(["--since", "1h"]) == [Int(cold)])
    #expect(try ids(["--since", "2000-01-01"]) == [Int(cold), Int(live)])
    #expect(try ids(["--planned"]).count == 3)
    // Through BALLAST_DB instead of --db.
    let process = Process()
    process.executableURL = BallastProcess.executable
    process.arguments = ["history", "--vm", "web1"]
    process.environment = ["BALLAST_DB": path]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    #expect(String(decoding: data, as: UTF8.self).contains("web1"))
  }

  @Test func showsOneMigrationWithItsStages() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (path, live, cold) = try await makeHistory(in: folder)
    let result = try BallastProcess.run(["history", "show", "\(live)", "--db", path])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("Migration \(live): web1 live h1 → h2 — completed"))
    for stage in MigrationStage.stages(for: .live) { #expect(result.stdout.contains(stage.rawValue)) }
    #expect(result.stdout.contains("round 4, sent 4.1GiB, remaining 19.07MiB"))
    let failed = try BallastProcess.run(["history", "show", "\(cold)", "--db", path])
    #expect(failed.stdout.contains("error: db1 did not shut down within 2m"))
    #expect(failed.stdout.contains("Detail: left on h1"))
    let missing = try BallastProcess.run(["history", "show", "999", "--db", path])
    #expect(missing.status != 0)
    #expect(missing.stderr.contains("no migration 999"))
  }

  @Test func listsPlansWithImbalanceBeforeAndAfter() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (path, _, _) = try await makeHistory(in: folder)
    let result = try BallastProcess.run(["history", "plans", "--db", path])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("0.310 → 0.080 → 0.120"))
    #expect(result.stdout.contains("1/1/2"))
    #expect(result.stdout.contains("dry run"))
    let json = try BallastProcess.run(["history", "plans", "--db", path, "--json", "--no-dry-runs"])
    let object = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    let plans = try #require(object["plans"] as? [[String: Any]])
    #expect(plans.count == 1)
    #expect(plans.first?["imbalanceMeasuredAfter"] as? Double == 0.12)
  }

  @Test func aMissingDatabaseIsAnErrorNotANewFile() throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let result = try BallastProcess.run(["history"], in: folder)
    #expect(result.status != 0)
    #expect(result.stderr.contains("ballast.sqlite: no history database here"))
    #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("ballast.sqlite").path))
  }

  @Test func badSinceSaysWhatItTakes() throws {
    let result = try BallastProcess.run(["history", "--since", "yesterday", "--db", "/nonexistent.sqlite"])
    #expect(result.status != 0)
    #expect(result.stderr.contains("30m, 2h, 7d"))
  }
}
