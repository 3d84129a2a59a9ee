import BallastEngine
import BallastModel
import BallastTestSupport
import Testing

/// Issue 11, class 8 at the engine: a second cancellation (an operator pressing Ctrl-C again)
/// stops promptly whatever the policy's `onCancel`, rolling back what it abandons, journaled.
@Suite struct ForcedStopTests {
  @Test func aForcedCancelAbortsTheMoveInFlightEvenWhenThePolicySaysFinish() async throws {
    let (cluster, plan) = CancellationTests.twelveFromOneHost()
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(onCancel: .finish)) { event, engine in
      if event.type == .moveEnded, !engine.isCancelled { engine.cancel() }
      // vm1 keeps copying after the first cancel (the policy says finish); the second one stops it.
      if event.type == .progress, event.vm == "vm1", engine.isCancelled { engine.cancel(force: true) }
    }
    let summary = await harness.engine.execute(plan)
    #expect(summary.cancelled)
    #expect(summary.results.map(\.outcome) == [.completed, .rolledBack] + Array(repeating: .skipped, count: 10))
    #expect(summary.results[1].reason?.contains("cancelled") == true, "\(summary.results[1].reason ?? "")")
    let ends = harness.recorder.stageEnds(of: "vm1")
    #expect(!ends.contains { $0.0 == .commitment }, "abandoned before commitment")
    #expect(ends.last.map { $0.0 == .reservation && $0.1 == .rolledBack } == true)
    await CancellationTests.expectConsistent(harness)
    #expect(await harness.placements()["vm1"] == "h0")
  }

  @Test func aPlainSecondCancelChangesNothing() async throws {
    let (cluster, plan) = CancellationTests.twelveFromOneHost()
    let harness = try Harness(cluster: cluster, policy: Fixture.policy(onCancel: .finish)) { event, engine in
      if event.type == .moveEnded { engine.cancel() }
      if event.type == .progress, engine.isCancelled { engine.cancel() }
    }
    let summary = await harness.engine.execute(plan)
    #expect(summary.results.map(\.outcome) == [.completed, .completed] + Array(repeating: .skipped, count: 10))
    await CancellationTests.expectConsistent(harness)
  }
}
