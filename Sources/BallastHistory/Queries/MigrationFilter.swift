import BallastModel

/// Which moves `ballast history` lists. Every field narrows the list; the default lists the
/// most recent executed moves of every cluster.
public struct MigrationFilter: Sendable, Hashable {
  public var vm: String?
  /// Moves from or to this host.
  public var host: String?
  /// Moves started at or after this time (seconds since the Unix epoch).
  public var since: Double?
  public var kind: MigrationKind?
  /// Only moves that ended rolled back or needing attention.
  public var failedOnly: Bool
  public var cluster: String?
  /// Also list moves that were only planned (dry runs, moves never started).
  public var includePlanned: Bool
  /// At most this many, most recent first.
  public var limit: Int

  public init(
    vm: String? = nil, host: String? = nil, since: Double? = nil, kind: MigrationKind? = nil,
    failedOnly: Bool = false, cluster: String? = nil, includePlanned: Bool = false, limit: Int = 100
  ) {
    self.vm = vm
    self.host = host
    self.since = since
    self.kind = kind
    self.failedOnly = failedOnly
    self.cluster = cluster
    self.includePlanned = includePlanned
    self.limit = limit
  }
}
