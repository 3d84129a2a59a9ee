import BallastEngine
import BallastModel
import Foundation
import Testing

/// Eight hours of cluster time: every five minutes the load changes and the busiest hosts
/// shed a few VMs to the least busy ones, through the engine on the simulated driver.
/// Prints how long it took on the wall clock (a figure, not an assertion). Size it with
/// `BENCH_HOSTS`, `BENCH_VMS` and `BENCH_HOURS` (default 20 hosts, 300 VMs, 8 hours).
@Suite struct ReplayBenchmarkTests {
  struct Generator {
    var state: UInt64
    mutating func next() -> Double {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Double(state >> 11) / Double(1 << 53)
    }
  }

  @Test func anEightHourReplayWithHundredsOfMigrationsRunsInSeconds() async throws {
    let hostCount = Int(ProcessInfo.processInfo.environment["BENCH_HOSTS"] ?? "") ?? 20
    let vmCount = Int(ProcessInfo.processInfo.environment["BENCH_VMS"] ?? "") ?? 300
    var random = Generator(state: 7)
    let vms = (0..<vmCount).map { i in
      Fixture.vm(
        "vm\(i)", on: "h\(i % hostCount)", vcpus: 2 + i % 7, memory: .gib(Double(2 + i % 15)),
        dirtyRate: .mbPerSecond(10 + 140 * random.next()), workingSet: .mib(64 + 448 * random.next()))
    }
    let cluster = Fixture.cluster(hostCount: hostCount, vms: vms)
    let driver = try SimulatedDriver(cluster: cluster)
    let policy = Fixture.policy(perHost: 2, cluster: 8)
    let engine = MigrationEngine(simulated: driver, policy: policy)

    let step = 300.0
    let steps = Int((Double(ProcessInfo.processInfo.environment["BENCH_HOURS"] ?? "") ?? 8) * 3600 / step)
    var migrations = 0
    var completed = 0
    var movedAt: [String: Double] = [:]
    var engineTime = Duration.zero
    let wallStart = ContinuousClock.now
    for round in 0..<steps {
      let now = Double(round) * step
      await driver.advance(to: now)
      for vm in vms {
        // A diurnal swing plus noise, phase-shifted per VM.
        let phase = Double(vm.name.utf8.reduce(0) { $0 &+ Int($1) } % 24)
        let cpu = 0.1 + 0.4 * (1 + sin((now / 3600 + phase) * .pi / 12)) * random.next()
        await driver.setUsage(Usage(cpu: min(cpu, 1), memory: 0.5), of: vm.name)
      }
      let inventory = try await driver.inventory()
      let moves = Self.greedyMoves(inventory, limit: 4, cooldown: 1800, now: now, movedAt: movedAt)
      guard !moves.isEmpty else { continue }
      let executing = ContinuousClock.now
      let summary = await engine.execute(Fixture.plan(moves, cluster: inventory, trigger: .loop))
      engineTime += ContinuousClock.now - executing
      migrations += moves.count
      completed += summary.done
      for result in summary.results where result.outcome == .completed { movedAt[result.move.vm] = now }
    }
    let wall = ContinuousClock.now - wallStart
    let state = await driver.snapshot()
    print(
      "replay: \(steps) rounds over \(state.elapsed / 3600) h of virtual time, \(migrations) migrations "
        + "(\(completed) completed) in \(wall) of wall time, \(engineTime) of it in the engine")
    #expect(state.violations() == [])
    #expect(state.reservations.isEmpty)
    #expect(migrations >= 200)
    #expect(completed >= migrations * 9 / 10)
    #expect(state.elapsed >= 8 * 3600 - step)
  }

  /// Moves from the busiest host to the least busy one, biggest CPU demand first.
  static func greedyMoves(
    _ cluster: Cluster, limit: Int, cooldown: Double, now: Double, movedAt: [String: Double]
  ) -> [PlannedMove] {
    var demand: [String: Double] = [:]
    for vm in cluster.vms { demand[vm.host, default: 0] += vm.cpuDemand }
    var moves: [PlannedMove] = []
    var moved: Set<String> = []
    for _ in 0..<limit {
      let ranked = cluster.hosts.map(\.name).sorted { (demand[$0] ?? 0, $0) > (demand[$1] ?? 0, $1) }
      guard let hot = ranked.first, let cold = ranked.last, hot != cold else { break }
      let gap = (demand[hot] ?? 0) - (demand[cold] ?? 0)
      let candidates = cluster.vms.filter {
        $0.host == hot && $0.state.isRunning && !moved.contains($0.name)
          && now - (movedAt[$0.name] ?? -.infinity) >= cooldown && $0.cpuDemand < gap
      }
      guard let vm = candidates.max(by: { ($0.cpuDemand, $1.name) < ($1.cpuDemand, $0.name) }) else { break }
      moves.append(Fixture.move(vm.name, from: hot, to: cold))
      moved.insert(vm.name)
      demand[hot, default: 0] -= vm.cpuDemand
      demand[cold, default: 0] += vm.cpuDemand
    }
    return moves
  }
}
