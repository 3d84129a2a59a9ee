import BallastEngine
import BallastHistory
import BallastLibvirt
import BallastModel
import Foundation
import Logging

/// `ballast lab bench` on a libvirt lab: the figures issue reports ask of the libvirt driver.
public enum LibvirtBench {
  /// One live migration: what the planner predicted and what libvirt measured.
  public struct Migration: Sendable, Encodable {
    public var vm: String
    public var from: String
    public var to: String
    public var predictedSeconds: Double
    public var measuredSeconds: Double
    public var predictedDowntimeMs: Double
    public var measuredDowntimeMs: Double
  }

  /// What the bench measured.
  public struct Report: Sendable, Encodable {
    /// Median seconds of a whole inventory of the lab (every host).
    public var inventorySeconds: Double
    public var idleDomains: Int
    /// Seconds of one bulk statistics call on a host holding `idleDomains` more domains.
    public var bulkStatisticsSeconds: Double
    public var bulkStatisticsDomains: Int
    public var migrations: [Migration]
  }

  /// Times inventories, one bulk statistics call with `idleDomains` defined domains on the
  /// first host, and `migrations` live round trips of `vm` between the first two hosts.
  public static func run(
    lab: LibvirtLab, cluster: Cluster, clusterFile: String, policy: Policy, vm: String, migrations: Int,
    idleDomains: Int, logger: Logger
  ) async throws -> Report {
    let driver = try LibvirtSession.driver(cluster: cluster, clusterFile: clusterFile, logger: logger)
    _ = try await driver.inventory()  // first CPU samples
    var times: [Double] = []
    for _ in 0..<5 {
      let start = ProcessInfo.processInfo.systemUptime
      _ = try await driver.inventory()
      times.append(ProcessInfo.processInfo.systemUptime - start)
    }
    let hosts = cluster.libvirt?.hosts.map(\.name) ?? []
    guard hosts.count >= 2 else { throw RuntimeError(.badSetting, "the bench needs a lab of two hosts or more") }
    let bulk = try await lab.withIdleDomains(idleDomains, on: hosts[0]) {
      try await lab.timeBulkStatistics(on: hosts[0])
    }
    var measured: [Migration] = []
    let journal = InMemoryJournal()
    for round in 0..<max(migrations, 0) {
      let inventory = try await driver.inventory()
      guard let from = inventory.vm(named: vm)?.host else {
        throw RuntimeError(.unknownName, "no VM named \(vm) in the lab")
      }
      let to = from == hosts[0] ? hosts[1] : hosts[0]
      // Each prediction with what the earlier migrations taught (the first: the file's figures).
      let model = await LearnedModel.model(for: inventory, policy: policy, journal: journal)
      let plan = try ManualMove.plan(
        vm: vm, to: to, requested: .live, cluster: inventory, policy: policy, model: model)
      let engine = MigrationEngine(
        driver: driver, journal: journal, clock: SystemClock(), policy: policy, logger: logger)
      let summary = await engine.execute(plan)
      guard let result = summary.results.first, result.outcome == .completed, let cost = result.measured else {
        throw RuntimeError(
          .notPossible, "bench migration \(round + 1) of \(vm) did not complete: \(summary.results.first?.reason ?? "")"
        )
      }
      let predicted = plan.moves[0].predicted
      measured.append(
        Migration(
          vm: vm, from: from, to: to, predictedSeconds: predicted.seconds, measuredSeconds: cost.seconds,
          predictedDowntimeMs: predicted.downtimeMs, measuredDowntimeMs: cost.downtimeMs))
    }
    return Report(
      inventorySeconds: times.sorted()[times.count / 2], idleDomains: idleDomains,
      bulkStatisticsSeconds: bulk.seconds, bulkStatisticsDomains: bulk.domains, migrations: measured)
  }
}
