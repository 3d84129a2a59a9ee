import BallastModel
import Testing

@testable import BallastPlanner

@Suite("Explain")
struct ExplainTests {
  @Test("Every host appears once: the current one, candidates by score, rejected ones with every reason")
  func everyHost() throws {
    let explanation = try PlacementExplainer.explain(
      vm: "web-1", cluster: FilterCase.cluster, policy: FilterCase.policy)
    #expect(explanation.host == "h1")
    #expect(explanation.candidates.map(\.host).sorted() == ["h1", "h2", "h3", "hm"])
    #expect(explanation.candidates.first?.verdict == .current)
    let byHost = Dictionary(uniqueKeysWithValues: explanation.candidates.map { ($0.host, $0) })
    // h2 holds web-2 (anti-affinity); h3 is excluded by keep-off; hm is in maintenance.
    #expect(byHost["h2"]?.rejections.map(\.filter) == ["anti-affinity"])
    #expect(byHost["h3"]?.rejections.map(\.filter) == ["vm-host"])
    #expect(byHost["hm"]?.rejections.map(\.filter) == ["host-state"])
    #expect(explanation.candidates.allSatisfy { $0.verdict != .candidate })
    #expect(explanation.notes.contains("no host accepts web-1"))
  }

  @Test("Candidates carry the kind, prediction and score terms, best first")
  func candidates() throws {
    let explanation = try PlacementExplainer.explain(
      vm: "a", cluster: BalancePlannerTests.hot, policy: Policy())
    let candidates = explanation.candidates.filter { $0.verdict == .candidate }
    #expect(candidates.map(\.host).sorted() == ["h2", "h3"])
    let totals = candidates.compactMap(\.total)
    #expect(totals == totals.sorted(by: >))
    let best = try #require(candidates.first)
    #expect(best.kind == .live)
    #expect(best.score.map(\.name) == ["balance-per-cost", "vm-host-preference", "headroom"])
    #expect(abs((best.total ?? 0) - best.score.total) < 1e-12)
    #expect(explanation.notes.contains { $0.hasPrefix("best destination: \(best.host)") })
  }

  @Test("A stopped VM is explained, with a note that balancing leaves it")
  func stopped() throws {
    let explanation = try PlacementExplainer.explain(vm: "parked", cluster: BalancePlannerTests.hot, policy: Policy())
    #expect(explanation.notes.first?.contains("stopped: it is not load") == true)
    #expect(explanation.candidates.filter { $0.verdict == .candidate }.allSatisfy { $0.kind == .cold })
  }

  @Test("An unknown VM is an error")
  func unknown() {
    #expect(throws: PlannerError.self) {
      try PlacementExplainer.explain(vm: "nope", cluster: BalancePlannerTests.hot, policy: Policy())
    }
  }
}
