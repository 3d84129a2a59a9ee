import BallastEngine
import BallastHistory
import BallastTestSupport
import Foundation
import Testing

/// `balance --loop` as a real process: signals, the journal, the simulated state it leaves.
@Suite("balance --loop process", .serialized)
struct LoopProcessTests {
  /// A folder with the demo cluster and a policy that acts at once, every second.
  static func workspace(policy extra: String = "") throws -> URL {
    let folder = try BallastProcess.temporaryFolder()
    try FileManager.default.copyItem(
      at: BallastProcess.repositoryRoot.appendingPathComponent("clusters/demo.yaml"),
      to: folder.appendingPathComponent("demo.yaml"))
    try "name: fast\nholdFor: 0s\nmonitor: {interval: 1s}\n\(extra)".write(
      to: folder.appendingPathComponent("fast.yaml"), atomically: true, encoding: .utf8)
    return folder
  }

  static let loopArguments = [
    "balance", "--loop", "--cluster", "demo.yaml", "--policy", "fast.yaml", "--db", "h.sqlite", "--state",
    "state.json", "--interval", "1s",
  ]

  @Test(.timeLimit(.minutes(3)))
  func sigtermDuringAMigrationExitsZeroWithEveryVMOnOneHostAndTheHistoryComplete() async throws {
    let folder = try Self.workspace()
    defer { try? FileManager.default.removeItem(at: folder) }
    let loop = try BallastProcess.Background(Self.loopArguments + ["--pace", "4"], in: folder)
    let dbPath = folder.appendingPathComponent("h.sqlite").path
    let inFlight = try await loop.wait(upTo: 60) {
      guard FileManager.default.fileExists(atPath: dbPath) else { return false }
      let store = try HistoryStore(path: dbPath)
      return try await store.migrations().contains { $0.startedAt != nil && $0.outcome == nil }
    }
    #expect(inFlight, "no migration started: \(loop.stderr)")
    loop.signal(SIGTERM)
    let status = await loop.waitForExit(upTo: 90)
    #expect(status == 0, "stderr: \(loop.stderr)")

    let store = try HistoryStore(path: dbPath)
    let journal: any MigrationJournal = store
    #expect(try await journal.unfinishedMoves(cluster: nil).isEmpty)
    let moves = try await store.migrations()
    #expect(!moves.isEmpty && moves.allSatisfy { $0.outcome != nil })
    let state = try #require(try FileStateStore(path: folder.appendingPathComponent("state.json").path).load())
    #expect(state.violations().isEmpty, "\(state.violations())")
    for vm in state.cluster.vms {
      #expect(state.instances(of: vm.name).filter(\.owner).count == 1, "\(vm.name)")
    }
  }

  @Test(.timeLimit(.minutes(2)))
  func sighupWithABrokenPolicyKeepsTheOldOneAndAGoodOneIsTaken() async throws {
    let folder = try Self.workspace(policy: "threshold: 0.9\n")  // nothing moves
    defer { try? FileManager.default.removeItem(at: folder) }
    let loop = try BallastProcess.Background(Self.loopArguments, in: folder)
    #expect(await loop.wait(upTo: 60) { loop.stdout.contains("threshold 0.900") }, "\(loop.stderr)")

    let policyURL = folder.appendingPathComponent("fast.yaml")
    try "name: broken\nthreshold: lots\n".write(to: policyURL, atomically: true, encoding: .utf8)
    loop.signal(SIGHUP)
    #expect(await loop.wait(upTo: 30) { loop.stderr.contains("keeping the current policy") }, "\(loop.stderr)")
    #expect(loop.stderr.contains("fast.yaml:2:"))
    #expect(loop.process.isRunning)
    let roundsBefore = loop.stdout.components(separatedBy: "\n").count
    #expect(await loop.wait(upTo: 30) { loop.stdout.components(separatedBy: "\n").count > roundsBefore + 1 })
    #expect(!loop.stdout.contains("threshold 0.050"))

    try "name: calmer\nholdFor: 0s\nthreshold: 0.7\nmonitor: {interval: 1s}\n".write(
      to: policyURL, atomically: true, encoding: .utf8)
    loop.signal(SIGHUP)
    #expect(await loop.wait(upTo: 30) { loop.stderr.contains("reloaded policy calmer") }, "\(loop.stderr)")
    #expect(await loop.wait(upTo: 30) { loop.stdout.contains("threshold 0.700") })

    loop.signal(SIGTERM)
    #expect(await loop.waitForExit(upTo: 30) == 0)
  }
}
