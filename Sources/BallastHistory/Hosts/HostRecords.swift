/// One load sample of a host, as the load monitor measured it.
public struct HostSample: Sendable, Hashable, Codable {
  public var cluster: String
  public var host: String
  /// Seconds since the Unix epoch (virtual when simulated).
  public var at: Double
  /// CPU utilization as a fraction of the host's cores (may exceed 1).
  public var cpu: Double
  /// Memory utilization as a fraction of the host's memory.
  public var memory: Double

  public init(cluster: String, host: String, at: Double, cpu: Double, memory: Double) {
    self.cluster = cluster
    self.host = host
    self.at = at
    self.cpu = cpu
    self.memory = memory
  }
}

/// A host put into maintenance (drain) or taken out of it (activate).
public struct HostStateChange: Sendable, Hashable, Codable {
  public var cluster: String
  public var host: String
  /// `true`: into maintenance; `false`: active again.
  public var maintenance: Bool
  /// Who asked (user name, or `balance-loop`).
  public var by: String
  /// Why, in the operator's words.
  public var reason: String
  public var at: Double

  public init(cluster: String, host: String, maintenance: Bool, by: String, reason: String, at: Double) {
    self.cluster = cluster
    self.host = host
    self.maintenance = maintenance
    self.by = by
    self.reason = reason
    self.at = at
  }
}
