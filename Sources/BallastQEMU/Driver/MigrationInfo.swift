/// The figures of QMP `query-migrate`, as the driver reads them.
public struct MigrationInfo: Sendable, Hashable {
  /// Where the migration is: `setup`, `active`, `pre-switchover`, `device`, `completed`, …
  public var status: QEMUMigrationStatus
  /// Bytes sent so far (RAM).
  public var transferred: Int64
  /// Bytes still dirty.
  public var remaining: Int64
  /// Guest RAM size.
  public var total: Int64
  /// Zero pages sent so far (`duplicate`): QEMU sends each as a 9-byte header.
  public var duplicatePages: Int64
  /// Bitmap syncs so far: 1 at setup, one at the end of every pre-copy round, one in the
  /// final stop-and-copy.
  public var dirtySyncCount: Int64
  /// Pages dirtied per second, as QEMU measured in the last round.
  public var dirtyPagesRate: Int64
  public var pageSize: Int64
  /// Throughput QEMU measured, in megabits per second.
  public var mbps: Double
  /// Milliseconds since the migration started (or its total once completed).
  public var totalTimeMs: Int64?
  /// The stop-and-copy pause in milliseconds, once completed.
  public var downtimeMs: Int64?
  public var expectedDowntimeMs: Int64?
  /// Auto-converge's current guest CPU throttle, percent.
  public var throttlePercent: Int64
  public var errorDescription: String?
  /// Port QEMU really listens on, for an incoming migration on port 0.
  public var listeningPort: Int?

  public init(_ json: JSONValue) {
    let ram = json["ram"]
    status = QEMUMigrationStatus(reported: json["status"]?.string)
    transferred = ram?["transferred"]?.int ?? 0
    remaining = ram?["remaining"]?.int ?? 0
    total = ram?["total"]?.int ?? 0
    duplicatePages = ram?["duplicate"]?.int ?? 0
    dirtySyncCount = ram?["dirty-sync-count"]?.int ?? 0
    dirtyPagesRate = ram?["dirty-pages-rate"]?.int ?? 0
    pageSize = ram?["page-size"]?.int ?? 4096
    mbps = ram?["mbps"]?.double ?? 0
    totalTimeMs = json["total-time"]?.int
    downtimeMs = json["downtime"]?.int
    expectedDowntimeMs = json["expected-downtime"]?.int
    throttlePercent = json["cpu-throttle-percentage"]?.int ?? 0
    errorDescription = json["error-desc"]?.string
    listeningPort =
      json["socket-address"]?.array?.lazy.compactMap { address in
        address["port"]?.string.flatMap { Int($0) }
      }.first
  }

  /// Whether a migration is under way (cancel it before resuming the source).
  public var isInProgress: Bool { status.isInProgress }
}
