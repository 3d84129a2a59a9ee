import BallastModel

/// The cluster's imbalance at one sampling time, from the host samples recorded then.
public struct ImbalancePoint: Sendable, Hashable, Codable {
  /// Seconds since the Unix epoch (virtual when simulated).
  public var at: Double
  /// Population standard deviation of the sampled hosts' weighted utilization.
  public var imbalance: Double
  /// Hosts sampled at that time.
  public var hosts: Int

  public init(at: Double, imbalance: Double, hosts: Int) {
    self.at = at
    self.imbalance = imbalance
    self.hosts = hosts
  }
}

extension HistoryStore {
  /// The imbalance of `cluster` at each time its hosts were sampled since `since`, oldest
  /// first: the standard deviation over the hosts sampled then (active hosts the loop saw) of
  /// `weights.cpu × cpu + weights.memory × memory`, computed by the database (one row per round).
  public func imbalanceHistory(
    cluster: String, since: Double, weights: MetricWeights
  ) async throws -> [ImbalancePoint] {
    let w = weights.normalized
    return try await read("read the imbalance history") { tx in
      let rows = try tx.rows(
        """
        SELECT at, COUNT(*) AS n, SUM(? * cpu + ? * memory) AS total,
               SUM((? * cpu + ? * memory) * (? * cpu + ? * memory)) AS squares
        FROM host_samples WHERE cluster = ? AND at >= ? GROUP BY at ORDER BY at
        """, w.cpu, w.memory, w.cpu, w.memory, w.cpu, w.memory, cluster, since)
      return try rows.map { row in
        let count: Int = try row.decode(forColumn: "n")
        let total: Double = try row.decode(forColumn: "total")
        let squares: Double = try row.decode(forColumn: "squares")
        let mean = total / Double(max(count, 1))
        let deviation = count > 1 ? max(0, squares / Double(count) - mean * mean).squareRoot() : 0
        return ImbalancePoint(at: try row.decode(forColumn: "at"), imbalance: deviation, hosts: count)
      }
    }
  }
}
