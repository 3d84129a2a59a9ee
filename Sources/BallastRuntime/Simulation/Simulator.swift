import BallastEngine
import BallastModel
import Logging

/// Replays a cluster's load on the virtual clock through the very same balancing round the
/// daemon runs (``BalanceController``), the planner and the engine on the simulated driver.
public struct Simulator: Sendable {
  public var cluster: Cluster
  public var replay: LoadReplay
  /// Simulated seconds to replay.
  public var duration: Double
  /// Simulated seconds between rounds (and samples).
  public var step: Double
  public var logger: Logger

  public init(cluster: Cluster, replay: LoadReplay, duration: Double, step: Double, logger: Logger) {
    self.cluster = cluster
    self.replay = replay
    self.duration = duration
    self.step = step
    self.logger = logger
  }

  /// The replay under `policy`; with `balancing: false`, the same load with nothing moved
  /// (the baseline). `progress` is told the elapsed simulated seconds after each step.
  public func run(
    policy: Policy, name: String, balancing: Bool = true, progress: @Sendable (Double) -> Void = { _ in }
  )
    async throws -> SimulationRecord
  {
    let clock = VirtualClock()
    let driver = try SimulatedDriver(cluster: cluster, clock: clock)
    let controller = BalanceController(
      driver: driver, clock: clock, journal: InMemoryJournal(), history: InMemoryLoopHistory(keepSamples: false),
      policy: policy, options: .init(cluster: cluster.name, requireHold: true, trigger: .loop, interval: step),
      hosts: cluster.hosts, logger: logger)
    var record = SimulationRecord(policy: name, hosts: cluster.hosts.map(\.name), stepSeconds: step)
    var time = 0.0
    while time < duration {
      await driver.advance(to: time)
      for vm in cluster.vms {
        if let cpu = replay.cpu(of: vm.name, at: time) {
          await driver.setUsage(Usage(cpu: cpu, memory: vm.usage.memory), of: vm.name)
        }
      }
      record.recordStep(at: time, cluster: try await driver.inventory(), weights: MetricWeights())
      if balancing {
        let roundStart = clock.elapsed
        let report = try await controller.round()
        if case .executed(_, let summary) = report.decision {
          record.migrations += summary.results.compactMap { result in
            guard let started = result.startedAt else { return nil }
            return MigrationMark(
              at: roundStart + started, vm: result.move.vm, from: result.move.from, to: result.move.to,
              kind: result.move.kind, downtimeMs: result.measured?.downtimeMs ?? 0,
              bytes: result.measured?.bytes ?? 0, completed: result.outcome == .completed)
          }
        }
      }
      progress(time + step)
      time += step
    }
    return record
  }
}
