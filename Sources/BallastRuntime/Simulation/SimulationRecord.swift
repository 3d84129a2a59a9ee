import BallastModel

/// A migration as the replay saw it, for the summary and the chart.
public struct MigrationMark: Sendable, Hashable, Codable {
  public var at: Double
  public var vm: String
  public var from: String
  public var to: String
  public var kind: MigrationKind
  public var downtimeMs: Double
  public var bytes: Double
  public var completed: Bool

  public init(
    at: Double, vm: String, from: String, to: String, kind: MigrationKind, downtimeMs: Double, bytes: Double,
    completed: Bool
  ) {
    self.at = at
    self.vm = vm
    self.from = from
    self.to = to
    self.kind = kind
    self.downtimeMs = downtimeMs
    self.bytes = bytes
    self.completed = completed
  }
}

/// What one policy's replay measured, step by step.
public struct SimulationRecord: Sendable {
  public var policy: String
  public var hosts: [String]
  public var stepSeconds: Double
  public var times: [Double] = []
  /// CPU utilization of each host (in `hosts` order) at each step.
  public var hostCPU: [[Double]] = []
  public var imbalance: [Double] = []
  public var migrations: [MigrationMark] = []

  public init(policy: String, hosts: [String], stepSeconds: Double) {
    self.policy = policy
    self.hosts = hosts
    self.stepSeconds = stepSeconds
  }

  /// Records the cluster's state at time `at`.
  public mutating func recordStep(at: Double, cluster: Cluster, weights: MetricWeights) {
    times.append(at)
    let byName = Dictionary(
      zip(cluster.hosts.map(\.name), cluster.utilizations()).map { ($0, $1.cpu) }, uniquingKeysWith: { a, _ in a })
    hostCPU.append(hosts.map { byName[$0] ?? 0 })
    imbalance.append(Imbalance.of(cluster, weights: weights))
  }

  /// The figures `simulate` prints and `--json` emits.
  public var summary: SimulationSummary {
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
  public static func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
  }
}

/// One policy's results, side by side with the others'.
public struct SimulationSummary: Sendable, Hashable, Codable {
  public var policy: String
  public var imbalanceMean: Double
  public var imbalanceP95: Double
  public var imbalanceMax: Double
  public var migrations: Int
  public var live: Int
  public var cold: Int
  /// Migrations that did not complete (rolled back, skipped at execution).
  public var failed: Int
  public var downtimeTotalMs: Double
  public var downtimeMaxMs: Double
  public var bytesMoved: Double
  /// Σ over steps of (hosts above 100 % CPU × step length).
  public var overloadHostSeconds: Double
  public var steps: Int

}
