import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Who holds a cluster's lease: one Ballast process.
public struct LeaseHolder: Sendable, Hashable, Codable {
  /// Unique per process run, e.g. `balance pid 4711 on node-a #9f2c`.
  public var id: String
  public var pid: Int32
  public var hostname: String

  public init(id: String, pid: Int32, hostname: String) {
    self.id = id
    self.pid = pid
    self.hostname = hostname
  }

  /// This process, doing `command`; a random suffix keeps two holders in one process apart.
  public static func current(command: String) -> LeaseHolder {
    let pid = getpid()
    let hostname = ProcessInfo.processInfo.hostName
    let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
    return LeaseHolder(id: "\(command) pid \(pid) on \(hostname) #\(suffix)", pid: pid, hostname: hostname)
  }

  /// Whether process `pid` exists on this machine.
  public static func processExists(_ pid: Int32) -> Bool {
    if kill(pid, 0) == 0 { return true }
    return errno != ESRCH
  }
}

/// What a lease entitles its holder to.
public enum LeasePurpose: String, Sendable, Hashable, Codable {
  /// Running migrations on the cluster: taken by every command that moves VMs, and by the
  /// balancing loop for each round that moves. Its epoch fences the journal.
  case migration
  /// Leading the cluster's balancing loop: one `balance --loop` acts, the others stand by.
  case leader

  /// The table the leases of this purpose live in.
  var table: String {
    switch self {
    case .migration: "cluster_leases"
    case .leader: "loop_leaders"
    }
  }
}

/// The right to run migrations on one cluster (or to lead its balancing loop), held by one
/// process until it expires. Times are the database's clock.
public struct ClusterLease: Sendable, Hashable, Codable {
  public var cluster: String
  public var holder: LeaseHolder
  public var acquiredAt: Double
  public var renewedAt: Double
  /// Seconds since the Unix epoch; after this anyone may take the lease over.
  public var expiresAt: Double
  /// The lease this one replaced, when it was taken over (expired, or its process gone).
  public var tookOverFrom: LeaseHolder?
  /// The fencing token: grows by one each time another holder takes the lease (never reused).
  public var epoch: Int64
  public var purpose: LeasePurpose

  public init(
    cluster: String, holder: LeaseHolder, acquiredAt: Double, renewedAt: Double, expiresAt: Double,
    tookOverFrom: LeaseHolder? = nil, epoch: Int64 = 0, purpose: LeasePurpose = .migration
  ) {
    self.cluster = cluster
    self.holder = holder
    self.acquiredAt = acquiredAt
    self.renewedAt = renewedAt
    self.expiresAt = expiresAt
    self.tookOverFrom = tookOverFrom
    self.epoch = epoch
    self.purpose = purpose
  }
}

/// Why a lease could not be taken or kept.
public enum LeaseError: Error, Sendable, Hashable, CustomStringConvertible {
  /// Another live process holds the cluster's lease.
  case held(ClusterLease, now: Double)
  /// Our lease was taken over (it expired without renewal) or removed.
  case lost(cluster: String, holder: LeaseHolder, takenBy: LeaseHolder?)

  public var description: String {
    switch self {
    case .held(let lease, let now):
      let remaining = max(0, lease.expiresAt - now)
      let holds =
        lease.purpose == .leader ? "leads its balancing loop" : "holds its migration lease"
      return """
        cluster \(lease.cluster) is busy: \(lease.holder.id) (pid \(lease.holder.pid) on \(lease.holder.hostname)) \
        \(holds) since \(LeaseError.format(lease.acquiredAt)) until \
        \(LeaseError.format(lease.expiresAt)) (\(Int(remaining.rounded(.up)))s from now) — wait for it to finish \
        or stop it; if that process died, the lease is free once it expires
        """
    case .lost(let cluster, let holder, let takenBy):
      let by = takenBy.map { "taken over by \($0.id)" } ?? "removed"
      return """
        lost the migration lease of cluster \(cluster) held by \(holder.id): \(by) — it was not renewed in time \
        (was the process suspended or the database unreachable?); no new migrations are started
        """
    }
  }

  static func format(_ time: Double) -> String {
    Date(timeIntervalSince1970: time).formatted(.iso8601)
  }
}
