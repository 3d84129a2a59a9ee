import BallastEngine
import BallastHistory
import BallastModel
import BallastTestSupport
import Foundation
import Logging
import Testing

@testable import BallastRuntime

/// Four hosts of 16 cores / 128 GiB on shared storage; `hot` VMs start on h1, one VM elsewhere.
func loopCluster(hotVMs: Int = 6, cpu: Double = 0.3) -> Cluster {
  let hosts = (1...4).map {
    Host(
      name: "h\($0)", cores: 16, memory: .gib(128), cpuModel: "Cascadelake-Server", migrationBandwidth: .gbit(10),
      datastores: ["san"])
  }
  var vms = (1...hotVMs).map {
    VM(
      name: "vm\($0)", host: "h1", vcpus: 4, memory: .gib(8), cpuModel: "Skylake-Server",
      disks: [Disk(datastore: "san", size: .gib(20))], usage: Usage(cpu: cpu, memory: 0.5), dirtyRate: .mbPerSecond(20),
      workingSet: .mib(256))
  }
  vms.append(
    VM(
      name: "quiet", host: "h2", vcpus: 2, memory: .gib(4), cpuModel: "Skylake-Server",
      disks: [Disk(datastore: "san", size: .gib(20))], usage: Usage(cpu: 0.1, memory: 0.5)))
  return Cluster(name: "loop", datastores: [Datastore(name: "san", shared: true)], hosts: hosts, vms: vms)
}

/// A policy that acts after 10 minutes above 0.05, sampling every 5 minutes.
func loopPolicy() -> Policy {
  var policy = Policy()
  policy.holdFor = .minutes(10)
  policy.monitor.interval = .minutes(5)
  policy.monitor.window = .minutes(15)
  policy.monitor.method = .mean
  policy.cooldown = .hours(1)
  return policy
}

/// A controller on a simulated driver, with rounds every 5 virtual minutes.
struct LoopHarness {
  let driver: SimulatedDriver
  let clock: VirtualClock
  let controller: BalanceController
  var time = 0.0

  init(
    cluster: Cluster = loopCluster(), policy: Policy = loopPolicy(), history: any LoopHistory = InMemoryLoopHistory()
  )
    throws
  {
    clock = VirtualClock()
    driver = try SimulatedDriver(cluster: cluster, clock: clock)
    controller = BalanceController(
      driver: driver, clock: clock, journal: InMemoryJournal(), history: history, policy: policy,
      options: .init(cluster: cluster.name, requireHold: true, trigger: .loop, interval: 300), hosts: cluster.hosts,
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
  }

  /// Advances to the next 5-minute mark and runs a round.
  mutating func round() async throws -> RoundReport {
    time = max(time, clock.elapsed)
    await driver.advance(to: time)
    let report = try await controller.round()
    time += 300
    return report
  }

  func placement() async throws -> [String: String] {
    Dictionary(uniqueKeysWithValues: try await driver.inventory().vms.map { ($0.name, $0.host) })
  }
}

extension RoundDecision {
  var moved: Int {
    if case .executed(_, let summary) = self { return summary.done }
    return 0
  }
}

@Suite("Balancing loop")
struct BalanceLoopTests {
  @Test func aSpikeShorterThanTheHoldTimeMovesNothing() async throws {
    // One VM per host, evenly loaded; the VM on h1 spikes for one round (5 minutes < 10m hold).
    var cluster = loopCluster(hotVMs: 4, cpu: 0.2)
    for i in 0..<4 {
      cluster.vms[i].host = "h\(i + 1)"
      cluster.vms[i].vcpus = 12
    }
    cluster.vms.removeLast()
    var policy = loopPolicy()
    policy.monitor.window = .minutes(5)  // short, so the spike shows in the smoothed load too
    var harness = try LoopHarness(cluster: cluster, policy: policy)
    var decisions: [RoundDecision] = []
    for round in 0..<8 {
      await harness.driver.setUsage(Usage(cpu: round == 3 ? 1 : 0.2, memory: 0.5), of: "vm1")
      let report = try await harness.round()
      if round == 3 { #expect(report.imbalance > loopPolicy().threshold) }  // the spike is seen
      decisions.append(report.decision)
    }
    #expect(decisions.allSatisfy { $0.moved == 0 }, "\(decisions.map(\.name))")
    #expect(decisions.contains { if case .holding = $0 { return true } else { return false } })
  }

  @Test func aSustainedImbalanceIsCorrectedOnceItHasLastedTheHoldTime() async throws {
    var harness = try LoopHarness()
    let first = try await harness.round()  // t = 0: above, hold starts
    let second = try await harness.round()  // t = 5m: still holding
    let third = try await harness.round()  // t = 10m: held for 10m → acts
    guard case .holding = first.decision, case .holding = second.decision else {
      Issue.record("expected to hold for two rounds, got \(first.decision.name), \(second.decision.name)")
      return
    }
    #expect(third.decision.moved > 0, "\(third.line)")
    let placement = try await harness.placement()
    #expect(placement.values.filter { $0 == "h1" }.count < 6)
    let after = try await harness.driver.inventory()
    #expect(Imbalance.of(after) < first.imbalance)
  }

  @Test func cooldownsHoldAcrossARestart() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let store = try HistoryStore(path: folder.appendingPathComponent("h.sqlite").path)
    let holder = LeaseHolder.current(command: "test")
    var policy = loopPolicy()
    policy.holdFor = .zero
    var first = try LoopHarness(policy: policy, history: SQLiteLoopHistory(store: store, holder: holder))
    // The controller journals into memory; record the moves in SQLite as the real loop does.
    let report = try await first.round()
    guard case .executed(let plan, let summary) = report.decision else {
      Issue.record("expected moves, got \(report.line)")
      return
    }
    let journal: any MigrationJournal = store
    let planID = try await journal.recordPlan(plan, dryRun: false, at: first.clock.now())
    for result in summary.results where result.outcome == .completed {
      let id = try await journal.moveStarted(
        plan: planID, index: result.index, move: result.move, at: first.clock.now())
      try await journal.moveFinished(
        move: id, outcome: .completed, measured: result.measured, at: first.clock.now(), detail: nil)
    }
    let moved = Set(summary.results.filter { $0.outcome == .completed }.map(\.move.vm))

    // A new process: same database, the cluster as it is now, but everything back on h1's load.
    var restarted = try await LoopHarness(
      cluster: first.driver.inventory(), policy: policy, history: SQLiteLoopHistory(store: store, holder: holder))
    await restarted.driver.advance(to: first.clock.elapsed + 600)
    for vm in moved { await restarted.driver.setUsage(Usage(cpu: 1.0, memory: 0.9), of: vm) }
    let again = try await restarted.round()
    if case .executed(let plan, _) = again.decision {
      #expect(Set(plan.moves.map(\.vm)).isDisjoint(with: moved), "a VM moved again inside its cooldown")
    }
  }

  @Test func aHostItCannotSeeIsNeitherSourceNorDestination() async throws {
    var policy = loopPolicy()
    policy.holdFor = .zero
    var cluster = loopCluster()
    // h4 is empty and would be the best destination; it stops answering.
    cluster.vms.append(
      VM(
        name: "on-h4", host: "h4", vcpus: 8, memory: .gib(8), cpuModel: "Skylake-Server",
        disks: [Disk(datastore: "san", size: .gib(20))], usage: Usage(cpu: 0.9, memory: 0.5)))
    var harness = try LoopHarness(cluster: cluster, policy: policy)
    await harness.driver.inject(.killHost(host: "h4", at: 0))
    let report = try await harness.round()
    #expect(report.excludedHosts == ["h4"])
    guard case .executed(let plan, _) = report.decision else {
      Issue.record("expected moves, got \(report.line)")
      return
    }
    #expect(!plan.moves.contains { $0.to == "h4" || $0.from == "h4" })
    #expect(try await harness.placement()["on-h4"] == "h4")
  }

  @Test func vmsMovedOutsideBallastMakeTheLoopBackOff() async throws {
    var harness = try LoopHarness()
    _ = try await harness.round()
    // An operator moves vm1 by hand between rounds.
    let engine = MigrationEngine(simulated: harness.driver, policy: loopPolicy())
    let manual = try ManualMove.plan(
      vm: "vm1", to: "h3", requested: .live, cluster: try await harness.driver.inventory(), policy: loopPolicy())
    #expect(await engine.execute(manual).done == 1)
    let report = try await harness.round()
    guard case .backingOff(_, let moved) = report.decision else {
      Issue.record("expected a back-off, got \(report.line)")
      return
    }
    #expect(moved == ["vm1"])
    let next = try await harness.round()
    #expect(next.decision.moved == 0)
  }

  @Test func holdTimeSurvivesARestartThroughRecordedSamples() async throws {
    let history = InMemoryLoopHistory()
    var first = try LoopHarness(history: history)
    _ = try await first.round()
    _ = try await first.round()  // above the threshold for 5 minutes so far
    var restarted = try LoopHarness(history: history)
    await restarted.driver.advance(to: first.time)
    restarted.time = first.time
    try await restarted.controller.restoreHold()
    let report = try await restarted.round()
    #expect(report.decision.moved > 0, "the hold should count from before the restart: \(report.line)")
  }
}
