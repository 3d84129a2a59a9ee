import BallastModel
import Testing

@testable import BallastPlanner

/// Issue 11: the balance planner reports a failure of its own as an error, never as "nothing
/// worth moving", and prunes with a bound derived from its scoring profile.
@Suite("Balance planner failures and bounds")
struct PlannerFailureTests {
  /// h1 is hot; h3 is in maintenance and must never receive a VM.
  static let cluster = Fixture.cluster(
    [Fixture.host("h1"), Fixture.host("h2"), Fixture.host("h3", state: .maintenance)],
    [
      Fixture.vm("a", on: "h1", vcpus: 4, memoryGiB: 8, cpu: 0.9),
      Fixture.vm("b", on: "h1", vcpus: 4, memoryGiB: 8, cpu: 0.8),
    ])

  @Test func movesThatDoNotReplayAreAFailureNotAnEmptyPlan() throws {
    var search = BalanceSearch(cluster: Self.cluster, policy: Policy(), history: .none, options: BalanceOptions())
    let error = try #require(throws: PlannerError.self) {
      _ = try search.replay([Choice(vm: 0, destination: 2, value: 1)])
    }
    #expect("\(error)".contains("step 1 (a to h3) no longer passes"))
    #expect("\(error)".contains("the balance planner failed"))
    let replayed = try search.replay([Choice(vm: 0, destination: 1, value: 1)])
    #expect(replayed.moves.map(\.to) == ["h2"])
  }

  @Test func thePruningBoundComesFromTheScoringProfile() {
    let search = BalanceSearch(cluster: Self.cluster, policy: Policy(), history: .none, options: BalanceOptions())
    let others: Set<String> = [BalancePerCostScorer().name, PreferenceScorer().name]
    #expect(search.otherTermsBound == ScoringProfile.balance.bound(excluding: others))
    #expect(ScoringProfile.balance.bound(excluding: others) == 0.01)
    let heavier = ScoringProfile([BalancePerCostScorer(weight: 2), PreferenceScorer(), HeadroomScorer(weight: 0.5)])
    #expect(heavier.bound(excluding: others) == 0.5)
    #expect(heavier.weight(of: BalancePerCostScorer().name) == 2)
    #expect(heavier.weight(of: "absent") == 0)
  }
}
