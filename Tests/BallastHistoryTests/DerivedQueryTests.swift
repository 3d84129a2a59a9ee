import BallastEngine
import BallastModel
import Testing

@testable import BallastHistory

/// Queries that compute from the recorded rows: the imbalance at each sampling time, and the
/// cost model's predicted and measured figures.
@Suite("Derived queries")
struct DerivedQueryTests {
  @Test("the imbalance at each sampling time is the deviation of the hosts' weighted load", arguments: Backend.allCases)
  func imbalanceHistory(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      try await store.recordHostSamples([
        HostSample(cluster: "lab", host: "h1", at: 100, cpu: 0.8, memory: 0.4),
        HostSample(cluster: "lab", host: "h2", at: 100, cpu: 0.2, memory: 0.2),
        HostSample(cluster: "lab", host: "h1", at: 160, cpu: 0.5, memory: 0.5),
        HostSample(cluster: "other", host: "h9", at: 160, cpu: 1, memory: 1),
        HostSample(cluster: "lab", host: "h1", at: 40, cpu: 0.9, memory: 0.9),
      ])
      let points = try await store.imbalanceHistory(cluster: "lab", since: 50, weights: MetricWeights())
      #expect(points.map(\.at) == [100, 160])
      #expect(points.map(\.hosts) == [2, 1])
      // Weighted loads 0.6 and 0.2: their population deviation is 0.2; one host deviates by 0.
      #expect(abs(points[0].imbalance - 0.2) < 1e-9)
      #expect(points[1].imbalance == 0)
    }
  }

  @Test(
    "accuracy samples are the completed moves with what they measured, numbered per VM", arguments: Backend.allCases)
  func accuracySamples(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let moves = [
        liveMove("web1", from: "h1", to: "h2", seconds: 10), liveMove("web1", from: "h2", to: "h1", seconds: 12),
        liveMove("db1", from: "h1", to: "h3", seconds: 30),
      ]
      let planID = try await store.recordPlan(plan(moves), dryRun: false, at: 1)
      for (index, move) in moves.enumerated() {
        try await journalMove(store, plan: planID, index: index, move, at: 100 * Double(index + 1))
      }
      _ = try await store.recordPlan(plan([liveMove("web1", from: "h1", to: "h2")]), dryRun: true, at: 2)
      let samples = try await store.accuracySamples()
      #expect(samples.map(\.vm) == ["web1", "web1", "db1"])
      #expect(samples.map(\.ordinal) == [1, 2, 1])
      #expect(samples.map(\.predictedSeconds) == [10, 12, 30])
      #expect(samples.allSatisfy { $0.measuredDowntimeMs == 90 && $0.measuredBytes == 4.4e9 })
      #expect(try await store.accuracySamples(MigrationFilter(vm: "db1")).map(\.ordinal) == [1])
    }
  }
}
