import BallastModel
import Testing

@testable import BallastPlanner

/// What balance and drain plans share: the words for how a move goes, the summary of a VM no
/// host takes, and the ordering of the moves.
@Suite("The planners' shared tail")
struct PlanTailTests {
  static func decision(_ kind: MigrationKind, throttle: Double = 0, whyNotLive: LiveObstacle? = nil) -> MoveDecision {
    MoveDecision(
      kind: kind,
      predicted: PredictedCost(
        seconds: 42, downtimeMs: kind == .live ? 120 : 95_000, bytes: 1e9, rounds: 4, converges: true,
        throttle: throttle),
      requiresShutdown: whyNotLive != nil, whyNotLive: whyNotLive)
  }

  @Test("a live move says its time and pause, and the throttle when there is one")
  func live() {
    let vm = Fixture.vm("web", on: "h1")
    #expect(
      PlanTail.kindClause(Self.decision(.live), vm: vm, destination: "h2", disks: [])
        == "; live in ~42s with a 120ms pause")
    #expect(
      PlanTail.kindClause(Self.decision(.live, throttle: 0.3), vm: vm, destination: "h2", disks: [])
        == "; live in ~42s with a 120ms pause (guest throttled to 70%)")
  }

  @Test("a cold move says why, its outage and the disks it copies; a stopped VM says it is stopped")
  func cold() {
    let disks = [Disk(datastore: "h1-local", size: .gib(30))]
    let vm = Fixture.vm("db", on: "h1", disks: disks)
    let why = LiveObstacle.storage(disks: disks)
    #expect(
      PlanTail.kindClause(Self.decision(.cold, whyNotLive: why), vm: vm, destination: "h2", disks: disks)
        == "; cold because db's disk is on h1-local, not on shared storage h2 mounts: down ~1m 35s; "
        + "copies 30GiB of disks")
    let stopped = Fixture.vm("batch", on: "h1", state: .stopped)
    #expect(
      PlanTail.kindClause(Self.decision(.cold), vm: stopped, destination: "h2", disks: [])
        == "; cold, it is stopped")
  }

  @Test("a VM no host takes is summed up by the check that refused the most hosts")
  func refusalSummary() {
    var counts = RefusalCounts()
    counts.add(.storage)
    counts.add(.capacity, hosts: 3)
    counts.add(.affinity, hosts: 3)
    counts.add(.vmHost, hosts: 0)
    #expect(counts.ranked.map(\.check) == [.affinity, .capacity, .storage])
    let example = Rejection(vm: "db", host: "h2", check: .capacity, reason: "needs more")
    let row = counts.rejection(vm: "db", hosts: 7, example: example)
    #expect(row.check == .affinity && row.host == nil)
    #expect(
      row.reason == "none of the 7 other active hosts takes it (affinity 3, capacity 3, storage 1); e.g. h2: needs more"
    )
    #expect(RefusalCounts().rejection(vm: "db", hosts: 0).reason == "no other active host to take it")
  }

  @Test("packing scores a destination by how full it ends up")
  func fullness() {
    let cluster = Fixture.cluster([Fixture.host("h1"), Fixture.host("h2")], [Fixture.vm("a", on: "h1")])
    let state = PlacementState(cluster: cluster, policy: Fixture.policy())
    let context = ScoringContext(
      move: MoveRequest(vm: 0, destination: 1), decision: Self.decision(.live), imbalanceBefore: 0.2,
      imbalanceAfter: 0.1, destinationScoreAfter: 0.625)
    #expect(FullnessScorer().value(context, in: state) == 0.625)
    #expect(ScoringProfile.pack.total(context, in: state) == 0.625)
  }
}
