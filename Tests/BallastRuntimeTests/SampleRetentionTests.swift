import BallastEngine
import BallastHistory
import BallastModel
import BallastTestSupport
import Foundation
import Testing

@testable import BallastRuntime

/// Issue 11, class 11: the loop keeps host samples for the policy's retention and deletes
/// older ones every round, never sooner than rebuilding the hold needs them.
@Suite("Host sample retention")
struct SampleRetentionTests {
  /// Runs `rounds` loop rounds 5 virtual minutes apart on a balanced cluster (nothing moves)
  /// with samples in SQLite; returns the samples left and the time of the last round.
  static func run(retention: TimeSpan, rounds: Int, in folder: URL) async throws -> ([HostSample], Double) {
    let store = try HistoryStore(path: folder.appendingPathComponent("h.sqlite").path, durability: .normal)
    var policy = loopPolicy()
    policy.threshold = 0.9  // nothing moves: every round only samples
    policy.monitor.sampleRetention = retention
    var harness = try LoopHarness(
      policy: policy, history: SQLiteLoopHistory(store: store, holder: LeaseHolder.current(command: "test")))
    var last = 0.0
    for _ in 0..<rounds { last = try await harness.round().at }
    return (try await store.hostSamples(cluster: "loop"), last)
  }

  @Test func samplesOlderThanTheRetentionAreDeletedEachRound() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (samples, last) = try await Self.run(retention: .hours(1), rounds: 36, in: folder)  // 3 hours
    let oldest = try #require(samples.map(\.at).min())
    #expect(oldest >= last - 3600)
    #expect(oldest <= last - 3300, "an hour of samples stays")
    #expect(samples.count == 4 * 13, "4 hosts × 13 rounds in the last hour, not \(samples.count)")
  }

  /// A retention shorter than the hold needs (possible for a policy built in code; files refuse
  /// it) is raised to holdFor + 3 intervals: 10m + 15m here.
  @Test func theRetentionNeverDropsWhatTheHoldNeeds() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (samples, last) = try await Self.run(retention: .minutes(1), rounds: 12, in: folder)
    let oldest = try #require(samples.map(\.at).min())
    #expect(oldest == last - 25 * 60)
  }

  @Test func aPolicyFileCannotKeepSamplesShorterThanTheHoldNeeds() throws {
    let errors = try #require(throws: FileErrors.self) {
      try PolicyFile.parse(
        "holdFor: 1h\nmonitor:\n  interval: 10m\n  sampleRetention: 1h\n", file: "p.yaml")
    }
    #expect(errors.issues.map(\.line) == [4])
    #expect(errors.description.contains("at least holdFor + 3 intervals"))
    #expect(
      try PolicyFile.parse("monitor: {sampleRetention: 2d}\n", file: "p.yaml").monitor.sampleRetention == .days(2))
  }
}
