import BallastModel
import Testing

@testable import BallastPlanner

/// One filter, one move, and the verdict expected: `nil` for pass, else the exact sentence.
struct FilterCase: Sendable, CustomTestStringConvertible {
  let label: String
  let filter: any PlacementFilter
  let vm: String
  let to: String
  var policy: Policy = FilterCase.policy
  var inFlight: [String: Int] = [:]
  let expected: String?

  var testDescription: String { "\(filter.name): \(label)" }

  /// h3 is small and busy (6.5GiB and 4 vCPUs free); hm is in maintenance.
  static let cluster = Fixture.cluster(
    [
      Fixture.host("h1"), Fixture.host("h2"), Fixture.host("h3", cores: 4, memoryGiB: 16),
      Fixture.host("hm", state: .maintenance),
    ],
    [
      Fixture.vm("web-1", on: "h1", labels: ["app": "web"]),
      Fixture.vm("web-2", on: "h2", labels: ["app": "web"]),
      Fixture.vm("db-1", on: "h1", vcpus: 4, memoryGiB: 8, labels: ["role": "db"]),
      Fixture.vm("db-2", on: "h2", vcpus: 4, memoryGiB: 8, labels: ["role": "db"]),
      Fixture.vm("big", on: "h1", vcpus: 4, memoryGiB: 16),
      Fixture.vm("wide", on: "h1", vcpus: 8, memoryGiB: 2),
      Fixture.vm("filler", on: "h3", vcpus: 12, memoryGiB: 9.5),
      Fixture.vm("archive", on: "h1", vcpus: 4, memoryGiB: 32, state: .stopped),
      Fixture.vm("cold-small", on: "h1", vcpus: 2, memoryGiB: 8, state: .stopped),
      Fixture.vm("app-a", on: "h1"), Fixture.vm("app-b", on: "h1"),
      Fixture.vm("app-c", on: "hm"), Fixture.vm("app-d", on: "hm"),
    ])

  static let policy = Fixture.policy {
    $0.rules = [
      PlacementRule(name: "web-spread", kind: .antiAffinity, selector: ["app": "web"]),
      PlacementRule(name: "db-apart", kind: .antiAffinity, vms: ["db-1", "db-2"]),
      PlacementRule(name: "pin-db", kind: .vmHost, selector: ["role": "db"], hosts: ["h1", "h2"], mode: .must),
      PlacementRule(name: "keep-off", kind: .vmHost, vms: ["web-1"], hosts: ["h3"], mode: .mustNot),
      PlacementRule(name: "prefer", kind: .vmHost, vms: ["web-2"], hosts: ["h2"], mode: .should),
      PlacementRule(name: "pair", kind: .affinity, vms: ["app-a", "app-b"]),
      PlacementRule(name: "pair2", kind: .affinity, vms: ["app-c", "app-d"]),
    ]
  }

  static func overcommit(cpu: Double = 4, memory: Double = 1) -> Policy {
    var policy = FilterCase.policy
    policy.overcommit = Overcommit(cpu: cpu, memory: memory)
    return policy
  }

  static let all: [FilterCase] = [
    // Capacity
    FilterCase(label: "fits", filter: CapacityFilter(), vm: "web-1", to: "h2", expected: nil),
    FilterCase(
      label: "memory over the limit", filter: CapacityFilter(), vm: "big", to: "h3",
      expected: "needs 16GiB, h3 has 6.5GiB free under a 1.0× memory overcommit"),
    FilterCase(
      label: "memory still short at 1.5×", filter: CapacityFilter(), vm: "big", to: "h3",
      policy: overcommit(memory: 1.5), expected: "needs 16GiB, h3 has 14.5GiB free under a 1.5× memory overcommit"),
    FilterCase(
      label: "memory fits at 2×", filter: CapacityFilter(), vm: "big", to: "h3", policy: overcommit(memory: 2),
      expected: nil),
    FilterCase(
      label: "vCPUs over the limit", filter: CapacityFilter(), vm: "wide", to: "h3",
      expected: "needs 8 vCPUs, h3 has 4 free of 16 (4 cores under a 4.0× CPU overcommit)"),
    FilterCase(
      label: "vCPUs fit at 6×", filter: CapacityFilter(), vm: "wide", to: "h3", policy: overcommit(cpu: 6),
      expected: nil),
    FilterCase(
      label: "stopped VM larger than the host", filter: CapacityFilter(), vm: "archive", to: "h3",
      expected: "needs 32GiB to start, h3 allows at most 16GiB (16GiB under a 1.0× memory overcommit)"),
    FilterCase(
      label: "stopped VM takes no room now", filter: CapacityFilter(), vm: "cold-small", to: "h3", expected: nil),
    // Host state
    FilterCase(label: "active host", filter: HostStateFilter(), vm: "web-1", to: "h2", expected: nil),
    FilterCase(
      label: "maintenance is never a destination", filter: HostStateFilter(), vm: "web-1", to: "hm",
      expected: "hm is in maintenance and takes no VMs"),
    FilterCase(
      label: "own host", filter: HostStateFilter(), vm: "web-1", to: "h1", expected: "web-1 already runs on h1"),
    // VM–host rules
    FilterCase(
      label: "must, by label, outside the list", filter: VMHostRuleFilter(), vm: "db-1", to: "h3",
      expected: "rule pin-db keeps db-1 on h1 and h2; h3 is not one of them"),
    FilterCase(label: "must, inside the list", filter: VMHostRuleFilter(), vm: "db-1", to: "h2", expected: nil),
    FilterCase(
      label: "mustNot, by name", filter: VMHostRuleFilter(), vm: "web-1", to: "h3",
      expected: "rule keep-off keeps web-1 off h3"),
    FilterCase(label: "mustNot, elsewhere", filter: VMHostRuleFilter(), vm: "web-1", to: "h2", expected: nil),
    FilterCase(label: "should is only a preference", filter: VMHostRuleFilter(), vm: "web-2", to: "h3", expected: nil),
    // Anti-affinity
    FilterCase(
      label: "by label", filter: AntiAffinityFilter(), vm: "web-1", to: "h2",
      expected: "anti-affinity rule web-spread keeps web-1 apart from web-2, already on h2"),
    FilterCase(
      label: "by name", filter: AntiAffinityFilter(), vm: "db-1", to: "h2",
      expected: "anti-affinity rule db-apart keeps db-1 apart from db-2, already on h2"),
    FilterCase(label: "no member there", filter: AntiAffinityFilter(), vm: "web-1", to: "h3", expected: nil),
    // Affinity
    FilterCase(
      label: "leaving its partner", filter: AffinityFilter(), vm: "app-a", to: "h2",
      expected: "affinity rule pair keeps app-a with app-b on h1"),
    FilterCase(
      label: "partner on a host in maintenance", filter: AffinityFilter(), vm: "app-c", to: "h2", expected: nil),
    FilterCase(label: "no affinity rule", filter: AffinityFilter(), vm: "web-1", to: "h2", expected: nil),
    // Concurrency
    FilterCase(
      label: "destination at the per-host limit", filter: ConcurrencyFilter(), vm: "web-1", to: "h2",
      inFlight: ["h2": 2], expected: "h2 already takes part in 2 migrations, the per-host limit is 2"),
    FilterCase(
      label: "destination below the limit", filter: ConcurrencyFilter(), vm: "web-1", to: "h2", inFlight: ["h2": 1],
      expected: nil),
  ]
}

@Suite("Filters")
struct FilterTests {
  @Test(arguments: FilterCase.all)
  func verdict(_ c: FilterCase) throws {
    let state = PlacementState(
      cluster: FilterCase.cluster, policy: c.policy, history: MoveHistory(inFlight: c.inFlight))
    let move = MoveRequest(
      vm: try #require(state.vmPosition(c.vm)), destination: try #require(state.hostPosition(c.to)))
    #expect(c.filter.admits(move, in: state) == (c.expected == nil))
    let rejection = c.filter.rejection(move, in: state)
    if let expected = c.expected {
      let rejection = try #require(rejection)
      #expect(rejection.filter == c.filter.name)
      #expect(rejection.vm == c.vm)
      #expect(rejection.host == c.to)
      #expect(rejection.reason == expected)
    } else {
      #expect(rejection == nil)
    }
  }

  @Test("The affinity group follows its first member once it has moved")
  func affinityFollowsFirstMember() throws {
    var state = PlacementState(cluster: FilterCase.cluster, policy: FilterCase.policy)
    let c = try #require(state.vmPosition("app-c"))
    let d = try #require(state.vmPosition("app-d"))
    let h1 = try #require(state.hostPosition("h1"))
    let h2 = try #require(state.hostPosition("h2"))
    state.move(c, to: h2)
    #expect(AffinityFilter().admits(MoveRequest(vm: d, destination: h2), in: state))
    #expect(!AffinityFilter().admits(MoveRequest(vm: d, destination: h1), in: state))
  }

  @Test("Preference scorer penalizes going against should and shouldNot rules")
  func preferences() throws {
    var policy = FilterCase.policy
    policy.rules.append(PlacementRule(name: "avoid", kind: .vmHost, vms: ["web-2"], hosts: ["h3"], mode: .shouldNot))
    let state = PlacementState(cluster: FilterCase.cluster, policy: policy)
    let v = try #require(state.vmPosition("web-2"))
    let h1 = try #require(state.hostPosition("h1"))
    let h2 = try #require(state.hostPosition("h2"))
    let h3 = try #require(state.hostPosition("h3"))
    #expect(PreferenceScorer.penalty(vm: v, destination: h2, in: state) == 0)
    #expect(PreferenceScorer.penalty(vm: v, destination: h1, in: state) == -1)
    #expect(PreferenceScorer.penalty(vm: v, destination: h3, in: state) == -2)
  }
}
