import BallastModel

/// A migration as the replay saw it, for the summary and the chart.
struct MigrationMark: Sendable, Hashable, Codable {
  var at: Double
  var vm: String
  var from: String
  var to: String
  var kind: MigrationKind
  var downtimeMs: Double
  var bytes: Double
  var completed: Bool
}

/// What one policy's replay measured, step by step.
struct SimulationRecord: Sendable {
  var policy: String
  var hosts: [String]
  var stepSeconds: Double
  var times: [Double] = []
  /// CPU utilization of each host (in `hosts` order) at each step.
  var hostCPU: [[Double]] = []
  var imbalance: [Double] = []
  var migrations: [MigrationMark] = []

  init(policy: String, hosts: [String], stepSeconds: Double) {
    self.policy = policy
    self.hosts = hosts
    self.stepSeconds = stepSeconds
  }

  /// Records the cluster's state at time `at`.
  mutating func recordStep(at: Double, cluster: Cluster, weights: MetricWeights) {
    times.append(at)
    let byName = Dictionary(
      zip(cluster.hosts.map(\.name), cluster.utilizations()).map { ($0, $1.cpu) }, uniquingKeysWith: { a, _ in a })
    hostCPU.append(hosts.map { byName[$0] ?? 0 })
    imbalance.append(Imbalance.of(cluster, weights: weights))
  }

  /// The figures `simulate` prints and `--json` emits.
  var summary: SimulationSummary {
    let completed = migrations.filter(\.completed)
    let overloadSteps = hostCPU.reduce(0) { $0 + $1.filter { $0 > 1.0 }.count }
    return SimulationSummary(
      policy: policy,
      imbalanceMean: imbalance.isEmpty ? 0 : imbalance.reduce(0, +) / Double(imbalance.count),
      imbalanceP95: Self.percentile(imbalance, 0.95),
      imbalanceMax: imbalance.max() ?? 0,
      migrations: completed.count,
      live: completed.filter { $0.kind == .live }.count,
      cold: completed.filter { $0.kind == .cold }.count,
      failed: migrations.count - completed.count,
      downtimeTotalMs: completed.reduce(0) { $0 + $1.downtimeMs },
      downtimeMaxMs: completed.map(\.downtimeMs).max() ?? 0,
      bytesMoved: completed.reduce(0) { $0 + $1.bytes },
      overloadHostSeconds: Double(overloadSteps) * stepSeconds,
      steps: times.count)
  }

  /// The `p` quantile (0…1) of `values` by the nearest-rank method; 0 when empty.
  static func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
  }
}

/// One policy's results, side by side with the others'.
struct SimulationSummary: Sendable, Hashable, Codable {
  var policy: String
  var imbalanceMean: Double
  var imbalanceP95: Double
  var imbalanceMax: Double
  var migrations: Int
  var live: Int
  var cold: Int
  /// Migrations that did not complete (rolled back, skipped at execution).
  var failed: Int
  var downtimeTotalMs: Double
  var downtimeMaxMs: Double
  var bytesMoved: Double
  /// Σ over steps of (hosts above 100 % CPU × step length).
  var overloadHostSeconds: Double
  var steps: Int

  /// The same figures rounded for people and scripts to read (`simulate --json`).
  var roundedForReading: SimulationSummary {
    var copy = self
    copy.imbalanceMean = JSONOutput.rounded(imbalanceMean)
    copy.imbalanceP95 = JSONOutput.rounded(imbalanceP95)
    copy.imbalanceMax = JSONOutput.rounded(imbalanceMax)
    copy.downtimeTotalMs = JSONOutput.rounded(downtimeTotalMs, 1)
    copy.downtimeMaxMs = JSONOutput.rounded(downtimeMaxMs, 1)
    copy.bytesMoved = bytesMoved.rounded()
    return copy
  }
}
