import BallastEngine
import BallastHistory
import BallastModel
import BallastTestSupport
import Foundation
import Testing

/// `balance --loop` running while other processes use the same cluster, state and history.
@Suite("balance --loop with other processes (end to end)", .serialized)
struct LoopAndDrainProcessTests {
  static let files = ["--cluster", "demo.yaml", "--policy", "fast.yaml", "--db", "h.sqlite", "--state", "state.json"]

  @Test(.timeLimit(.minutes(3)))
  func aDrainDuringTheLoopNeverMovesAVMTheLoopIsMovingAndTheLoopKeepsOffTheHost() async throws {
    let folder = try LoopProcessTests.workspace()
    defer { try? FileManager.default.removeItem(at: folder) }
    let loop = try BallastProcess.Background(LoopProcessTests.loopArguments + ["--pace", "4"], in: folder)
    defer { if loop.process.isRunning { loop.signal(SIGKILL) } }
    let store = try HistoryStore(path: folder.appendingPathComponent("h.sqlite").path)
    let migrating = await StageWatcher.wait(
      for: "preCopy", in: folder.appendingPathComponent("h.sqlite").path, within: 60)
    try #require(migrating, "the loop never started a migration: \(loop.stderr)")

    // Drain h2 while the loop migrates: refused while it holds the lease, admitted between rounds.
    var refusals = 0
    var drain: BallastProcess.Result?
    let deadline = Date().addingTimeInterval(120)
    while Date() < deadline {
      let attempt = try await BallastProcess.running(["drain", "h2", "--json"] + Self.files, in: folder)
      guard attempt.status != 0, attempt.stderr.contains("is busy") else {
        drain = attempt
        break
      }
      refusals += 1
      try await Task.sleep(for: .milliseconds(100))
    }
    let drained = try #require(drain, "the drain was never admitted")
    #expect(drained.status == 0, "\(drained.stdout) \(drained.stderr)")
    #expect(refusals > 0, "the drain should have met the loop's lease at least once")

    // The loop goes on with h2 in maintenance; stop it after two more rounds.
    let rounds = loop.stdout.split(separator: "\n").count
    #expect(await loop.wait(upTo: 60) { loop.stdout.split(separator: "\n").count >= rounds + 2 }, "\(loop.stderr)")
    loop.signal(SIGTERM)
    #expect(await loop.waitForExit(upTo: 90) == 0, "\(loop.stderr)")

    // No VM had two moves at once: per VM, each move starts after the previous one ended.
    let moves = try await store.migrations(MigrationFilter(limit: 10_000)).filter {
      $0.outcome != .skipped && !$0.dryRun
    }
    #expect(moves.allSatisfy { $0.outcome != nil && $0.startedAt != nil && $0.endedAt != nil })
    #expect(Set(moves.map(\.trigger)) == [.loop, .drain], "both the loop and the drain moved VMs")
    for (vm, list) in Dictionary(grouping: moves, by: \.vm) {
      let ordered = list.sorted { ($0.startedAt ?? 0, $0.id) < ($1.startedAt ?? 0, $1.id) }
      for (earlier, later) in zip(ordered, ordered.dropFirst()) {
        #expect(
          (later.startedAt ?? 0) >= (earlier.endedAt ?? .infinity),
          "\(vm): move \(later.id) (\(later.trigger)) started before move \(earlier.id) (\(earlier.trigger)) ended")
      }
    }

    // Every VM is on exactly one host, and nothing went back onto the drained host.
    let state = try #require(try FileStateStore(path: folder.appendingPathComponent("state.json").path).load())
    #expect(state.violations().isEmpty, "\(state.violations())")
    for vm in state.cluster.vms { #expect(state.instances(of: vm.name).count == 1, "\(vm.name)") }
    #expect(state.cluster.host(named: "h2")?.state == .maintenance)
    #expect(state.cluster.vms.filter { $0.host == "h2" }.map(\.name) == [])
    let drainEnd = try #require(moves.filter { $0.trigger == .drain }.compactMap(\.endedAt).max())
    #expect(moves.filter { $0.to == "h2" }.allSatisfy { ($0.endedAt ?? 0) <= drainEnd })
  }

  @Test(.timeLimit(.minutes(2)))
  func historyReadsTheDatabaseWhileTheLoopWritesIt() async throws {
    let folder = try LoopProcessTests.workspace()
    defer { try? FileManager.default.removeItem(at: folder) }
    let loop = try BallastProcess.Background(LoopProcessTests.loopArguments + ["--pace", "8"], in: folder)
    defer { if loop.process.isRunning { loop.signal(SIGKILL) } }
    let store = try HistoryStore(path: folder.appendingPathComponent("h.sqlite").path)
    try #require(await loop.wait(upTo: 60) { try await !store.migrations().isEmpty }, "\(loop.stderr)")

    /// What the loop has written so far: moves, how far each got, samples.
    func written() async throws -> [String] {
      let moves = try await store.migrations(MigrationFilter(includePlanned: true, limit: 10_000))
      let samples = try await store.hostSamples(cluster: "demo").count
      return moves.map { "\($0.id) \($0.status) \($0.lastStage?.rawValue ?? "-")" } + ["samples \(samples)"]
    }
    var reads = 0
    let before = try await written()
    let until = Date().addingTimeInterval(8)
    while Date() < until {
      for arguments in [["history", "--json"], ["history", "plans"], ["history", "--planned", "--limit", "500"]] {
        let result = try await BallastProcess.running(arguments + ["--db", "h.sqlite"], in: folder)
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        #expect(!result.stderr.contains("locked"), "\(result.stderr)")
        reads += 1
      }
      let id = try #require(try await store.migrations().first?.id)
      let show = try await BallastProcess.running(["history", "show", "\(id)", "--db", "h.sqlite"], in: folder)
      #expect(show.status == 0 && !show.stderr.contains("locked"), "\(show.stderr)")
    }
    #expect(try await written() != before, "the loop kept writing")
    #expect(reads >= 6)
    loop.signal(SIGTERM)
    #expect(await loop.waitForExit(upTo: 90) == 0, "\(loop.stderr)")
    #expect(!loop.stderr.contains("locked"), "\(loop.stderr)")
  }
}
