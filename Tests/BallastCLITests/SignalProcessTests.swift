import BallastEngine
import BallastHistory
import BallastModel
import BallastTestSupport
import Foundation
import Testing

/// Issue 11, class 8, with real `ballast` processes: SIGHUP never ends a command in the middle
/// of a move, and a second SIGTERM stops promptly, with what it abandons rolled back and
/// journaled.
@Suite("Signals during moves (end to end)")
struct SignalProcessTests {
  struct Hangup: Sendable, CustomTestStringConvertible {
    var arguments: [String]
    /// Where each VM the command moves ends up.
    var placements: [String: String]
    var testDescription: String { arguments.joined(separator: " ") }
  }

  static let hangups = [
    Hangup(arguments: ["drain", "h1"], placements: ["web": "!h1", "batch": "!h1"]),
    Hangup(arguments: ["migrate", "web", "--to", "h2", "--live"], placements: ["web": "h2"]),
    Hangup(arguments: ["migrate", "batch", "--to", "h2", "--cold"], placements: ["batch": "h2"]),
  ]

  @Test(.timeLimit(.minutes(2)), arguments: hangups)
  func sighupDuringAMoveDoesNotStopIt(_ hangup: Hangup) async throws {
    let workspace = try ProcessWorkspace()
    defer { workspace.remove() }
    let process = try workspace.start(hangup.arguments + ["--pace", "2", "--json"] + ProcessWorkspace.files)
    // SIGHUP once the first stage that changes something is under way.
    let stage = hangup.arguments.contains("--cold") ? "verifyOff" : "reservation"
    let caught = await StageWatcher.signal(
      SIGHUP, to: process.process.processIdentifier, when: stage, in: workspace.databasePath, within: 60)
    let status = await process.waitForExit(upTo: 90)
    try #require(caught, "never saw \(stage) under way: \(process.stderr)")
    #expect(process.process.terminationReason == .exit, "ended by a signal: \(process.stderr)")
    #expect(status == 0, "\(process.stdout) \(process.stderr)")

    let store = try workspace.store()
    #expect(try await store.unfinishedMoves(cluster: "slow").isEmpty)
    #expect(try await store.migrations().allSatisfy { $0.outcome == .completed })
    #expect(try await store.currentLease(cluster: "slow") == nil)
    let state = try workspace.state()
    #expect(state.violations().isEmpty, "\(state.violations())")
    for (vm, expected) in hangup.placements {
      let host = try #require(state.cluster.vm(named: vm)?.host)
      if expected.hasPrefix("!") {
        #expect(host != String(expected.dropFirst()), "\(vm) is still on \(host)")
      } else {
        #expect(host == expected)
      }
    }
  }

  /// The patient policy lets a move finish on the first SIGTERM; the second aborts it in
  /// pre-copy: rolled back, recorded, the VM running on its source only.
  @Test(.timeLimit(.minutes(2)))
  func aSecondSigtermAbortsTheMoveInFlight() async throws {
    let workspace = try ProcessWorkspace()
    defer { workspace.remove() }
    let migrate = try workspace.start(
      ["migrate", "web", "--to", "h2", "--live", "--pace", "1", "--json"] + ProcessWorkspace.files)
    let pid = migrate.process.processIdentifier
    let caught = await StageWatcher.wait(for: "preCopy", in: workspace.databasePath, within: 60) {
      kill(pid, SIGTERM)
      usleep(300_000)
      kill(pid, SIGTERM)
    }
    let status = await migrate.waitForExit(upTo: 30)
    try #require(caught, "never saw pre-copy under way: \(migrate.stderr)")
    #expect(migrate.process.terminationReason == .exit, "ended by a signal: \(migrate.stderr)")
    #expect(status != nil, "it did not stop")
    #expect(migrate.stderr.contains("stopping now"), "\(migrate.stderr)")

    let store = try workspace.store()
    #expect(try await store.unfinishedMoves(cluster: "slow").isEmpty)
    let move = try #require(try await store.migrations().first)
    #expect(move.outcome == .rolledBack, "\(move)")
    let detail = try #require(try await store.migration(id: move.id))
    #expect(detail.stages.allSatisfy { $0.outcome != nil }, "\(detail.stages)")
    #expect(!detail.stages.contains { $0.stage == .commitment })
    let state = try workspace.state()
    #expect(state.violations().isEmpty)
    #expect(state.instances(of: "web").map(\.host) == ["h1"])
    #expect(try await store.currentLease(cluster: "slow") == nil)
  }

  /// `balance --loop`: the first SIGTERM shuts down gracefully, a second one aborts the
  /// migrations in flight; it exits 0 with the journal complete.
  @Test(.timeLimit(.minutes(2)))
  func aSecondSigtermStopsTheLoopPromptly() async throws {
    let folder = try LoopProcessTests.workspace()
    defer { try? FileManager.default.removeItem(at: folder) }
    let loop = try BallastProcess.Background(LoopProcessTests.loopArguments + ["--pace", "2"], in: folder)
    let dbPath = folder.appendingPathComponent("h.sqlite").path
    let pid = loop.process.processIdentifier
    let caught = await StageWatcher.wait(for: "preCopy", in: dbPath, within: 60) {
      kill(pid, SIGTERM)
      usleep(300_000)
      kill(pid, SIGTERM)
    }
    let status = await loop.waitForExit(upTo: 30)
    try #require(caught, "no migration started: \(loop.stderr)")
    #expect(status == 0, "\(loop.stderr)")
    #expect(loop.stderr.contains("stopping now"), "\(loop.stderr)")
    let store = try HistoryStore(path: dbPath)
    #expect(try await store.unfinishedMoves(cluster: nil).isEmpty)
    #expect(try await store.migrations().contains { $0.outcome == .rolledBack })
    let state = try #require(try FileStateStore(path: folder.appendingPathComponent("state.json").path).load())
    #expect(state.violations().isEmpty, "\(state.violations())")
  }
}
