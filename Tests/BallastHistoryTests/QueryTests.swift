import BallastEngine
import BallastModel
import Testing

@testable import BallastHistory

/// A history with four plans on two clusters:
/// - 1000 lab/balance: web1 live h1→h2 completed; db1 cold h1→h3 rolled back
/// - 5000 lab/drain: web1 live h2→h3 completed; web2 live h3→h1 needs attention
/// - 6000 other/manual: web1 live h1→h2 completed
/// - 7000 lab/balance dry run: web3 planned
private struct Scenario {
  var ids: [String: MoveID] = [:]
  var plans: [PlanID] = []

  init(_ store: HistoryStore) async throws {
    let a = [liveMove("web1", from: "h1", to: "h2"), coldMove("db1", from: "h1", to: "h3")]
    let planA = try await store.recordPlan(plan(a, before: 0.4, after: 0.1), dryRun: false, at: 1000)
    ids["A.web1"] = try await journalMove(store, plan: planA, index: 0, a[0], at: 1000)
    ids["A.db1"] = try await journalMove(store, plan: planA, index: 1, a[1], at: 1100, outcome: .rolledBack)
    try await store.planFinished(plan: planA, measuredImbalanceAfter: 0.15, at: 1200)

    let b = [liveMove("web1", from: "h2", to: "h3"), liveMove("web2", from: "h3", to: "h1")]
    let planB = try await store.recordPlan(plan(b, trigger: .drain, before: 0.2, after: 0.05), dryRun: false, at: 5000)
    ids["B.web1"] = try await journalMove(store, plan: planB, index: 0, b[0], at: 5000)
    ids["B.web2"] = try await journalMove(store, plan: planB, index: 1, b[1], at: 5100, outcome: .needsAttention)

    let c = [liveMove("web1", from: "h1", to: "h2")]
    let planC = try await store.recordPlan(plan(c, cluster: "other", trigger: .manual), dryRun: false, at: 6000)
    ids["C.web1"] = try await journalMove(store, plan: planC, index: 0, c[0], at: 6000)

    let planD = try await store.recordPlan(plan([liveMove("web3", from: "h1", to: "h2")]), dryRun: true, at: 7000)
    plans = [planA, planB, planC, planD]
  }

  func ids(_ names: String...) -> [MoveID] { names.compactMap { ids[$0] } }
}

@Suite("Queries")
struct QueryTests {
  @Test(
    "migrations are filtered by VM, host, time, kind, failure and cluster, newest first", arguments: Backend.allCases)
  func migrationFilters(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let s = try await Scenario(store)
      func ids(_ filter: MigrationFilter) async throws -> [MoveID] { try await store.migrations(filter).map(\.id) }
      #expect(try await ids(MigrationFilter()) == s.ids("C.web1", "B.web2", "B.web1", "A.db1", "A.web1"))
      #expect(try await ids(MigrationFilter(vm: "web1")) == s.ids("C.web1", "B.web1", "A.web1"))
      #expect(try await ids(MigrationFilter(host: "h3")) == s.ids("B.web2", "B.web1", "A.db1"))
      #expect(try await ids(MigrationFilter(since: 5050)) == s.ids("C.web1", "B.web2"))
      #expect(try await ids(MigrationFilter(kind: .cold)) == s.ids("A.db1"))
      #expect(try await ids(MigrationFilter(failedOnly: true)) == s.ids("B.web2", "A.db1"))
      #expect(try await ids(MigrationFilter(cluster: "other")) == s.ids("C.web1"))
      #expect(
        try await ids(MigrationFilter(vm: "web1", host: "h2", since: 2000, kind: .live, cluster: "lab"))
          == s.ids("B.web1"))
      #expect(try await ids(MigrationFilter(limit: 2)) == s.ids("C.web1", "B.web2"))
      #expect(try await store.migrations(MigrationFilter(includePlanned: true)).first?.vm == "web3")
    }
  }

  @Test("a migration's record holds predictions next to measurements", arguments: Backend.allCases)
  func migrationRecord(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let s = try await Scenario(store)
      let id = try #require(s.ids["A.db1"])
      let detail = try #require(try await store.migration(id: id))
      let record = detail.migration
      #expect(record.vm == "db1")
      #expect(record.from == "h1" && record.to == "h3")
      #expect(record.kind == .cold)
      #expect(record.reason == "drain h1")
      #expect(record.predicted.seconds == 40)
      #expect(record.measured == MeasuredCost(seconds: 6, downtimeMs: 90, bytes: 4.4e9, rounds: 5))
      #expect(record.outcome == .rolledBack)
      #expect(record.cluster == "lab")
      #expect(record.trigger == .balance)
      #expect(record.startedAt == 1100)
      #expect(record.endedAt == 1106)
      #expect(detail.stages.map(\.stage) == MigrationStage.stages(for: .cold))
      #expect(detail.stages.allSatisfy { $0.outcome == .succeeded && $0.intentAt != nil })
      #expect(try await store.migration(id: 9999) == nil)
    }
  }

  @Test(
    "plans list imbalance before, predicted after and measured after, with move counts", arguments: Backend.allCases)
  func plans(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let s = try await Scenario(store)
      let plans = try await store.plans()
      #expect(plans.map(\.id) == s.plans.reversed())
      let a = try #require(plans.last)
      #expect(a.imbalanceBefore == 0.4)
      #expect(a.imbalancePredictedAfter == 0.1)
      #expect(a.imbalanceMeasuredAfter == 0.15)
      #expect(a.endedAt == 1200)
      #expect((a.moves, a.started, a.completed, a.failed) == (2, 2, 1, 1))
      #expect(a.trigger == .balance)
      #expect(plans.first?.dryRun == true)
      #expect(try await store.plans(includeDryRuns: false).map(\.id) == s.plans.dropLast().reversed())
      #expect(try await store.plans(cluster: "other").map(\.trigger) == [.manual])
      #expect(try await store.plans(since: 5500).count == 2)
      #expect(try await store.plans(limit: 1).map(\.id) == [s.plans[3]])
    }
  }

  @Test("the last completed move of each VM gives the planner its cooldown map", arguments: Backend.allCases)
  func lastMoves(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let s = try await Scenario(store)
      let lab = try await store.lastMoves(cluster: "lab")
      #expect(Set(lab.keys) == ["web1"])  // db1 rolled back, web2 needs attention, web3 a dry run
      let web1 = try #require(lab["web1"])
      #expect(web1.from == "h2")
      #expect(web1.to == "h3")
      #expect(web1.at == 5006)
      #expect(web1.move == s.ids["B.web1"])
      let map = lab.cooldownMap
      #expect(map["web1"]?.at == 5006)
      #expect(map["web1"]?.from == "h2")
      #expect(try await store.lastMoves()["web1"]?.from == "h1")  // the other cluster's later move
      #expect(try await store.lastMoves(cluster: "lab", since: 6000).isEmpty)
    }
  }

  @Test("host samples are recorded and read by host and time range", arguments: Backend.allCases)
  func hostSamples(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let samples = (0..<5).flatMap { i in
        ["h1", "h2"].map {
          HostSample(cluster: "lab", host: $0, at: 100 + Double(i) * 60, cpu: Double(i) / 10, memory: 0.5)
        }
      }
      try await store.recordHostSamples(samples)
      try await store.recordHostSamples([HostSample(cluster: "other", host: "h1", at: 130, cpu: 0.9, memory: 0.9)])
      #expect(try await store.hostSamples(cluster: "lab", host: "h1").map(\.at) == [100, 160, 220, 280, 340])
      #expect(try await store.hostSamples(host: "h1").count == 6)
      #expect(try await store.hostSamples(cluster: "lab", host: "h2", since: 160, until: 280).map(\.cpu) == [0.1, 0.2])
      #expect(try await store.hostSamples(cluster: "lab", host: "h1", limit: 2).map(\.at) == [280, 340])
      #expect(try await store.hostSamples(cluster: "lab").count == 10)
      #expect(try await store.pruneHostSamples(before: 200) == 5)
      #expect(try await store.hostSamples(cluster: "lab", host: "h1").map(\.at) == [220, 280, 340])
    }
  }

  @Test(
    "host state changes are recorded with who and why, and the latest per host is known", arguments: Backend.allCases)
  func hostStateChanges(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let changes = [
        HostStateChange(cluster: "lab", host: "h1", maintenance: true, by: "alice", reason: "BIOS update", at: 10),
        HostStateChange(cluster: "lab", host: "h2", maintenance: true, by: "bob", reason: "disk swap", at: 20),
        HostStateChange(cluster: "lab", host: "h1", maintenance: false, by: "alice", reason: "done", at: 30),
        HostStateChange(cluster: "other", host: "h1", maintenance: true, by: "carol", reason: "move rack", at: 40),
      ]
      for change in changes { try await store.recordHostStateChange(change) }
      #expect(try await store.hostStateChanges(cluster: "lab", host: "h1") == [changes[0], changes[2]])
      #expect(try await store.hostStateChanges(since: 25) == [changes[2], changes[3]])
      #expect(try await store.hostStateChanges().count == 4)
      let latest = try await store.latestHostStates(cluster: "lab")
      #expect(latest["h1"] == changes[2])
      #expect(latest["h2"]?.maintenance == true)
      #expect(latest["h2"]?.by == "bob")
      #expect(latest.count == 2)
    }
  }
}
