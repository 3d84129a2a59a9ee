/// What one completed migration showed about the cost model's inputs: the figures the engine
/// measured, step by step, with what the move was entitled to on the links it shared.
///
/// The engine makes one for every completed move; the history keeps it and ``CostLearner``
/// turns it into estimates.
public struct MigrationObservation: Sendable, Hashable, Codable {
  public var vm: String
  public var from: String
  public var to: String
  public var kind: MigrationKind
  /// The VM as the inventory showed it when the move began: the file's figures, its memory,
  /// working set, load and disks.
  public var vmAtStart: VM
  /// The policy's pause limit and convergence rules the move ran under.
  public var downtimeLimitSeconds: Double
  public var convergence: Convergence
  /// The slower of the two hosts' declared migration links, bytes per second.
  public var nominalRate: Double
  /// The policy's bandwidth cap, bytes per second.
  public var cap: Double?
  /// Whether the cap was enforced by QEMU's windowed rate limiter (``RateLimiterWindows``;
  /// QEMU and libvirt hosts); `nil` when not recorded.
  public var rateLimiter: Bool?
  /// The average rate the transfer was entitled to with the transfers that shared its links,
  /// over the rate it would have had alone (1: it ran alone).
  public var fairShare: Double
  /// The whole move, seconds.
  public var totalSeconds: Double
  /// From the move's start to its transfer's first byte, without a shutdown.
  public var setupSeconds: Double
  /// The transfer: pre-copy and pause (live), or the copy (cold).
  public var transferSeconds: Double
  /// From the end of the transfer to the move's end, without a boot.
  public var finishSeconds: Double
  /// Every byte sent (live) or copied (cold).
  public var bytes: Double
  /// Pre-copy rounds (0 for cold).
  public var rounds: Int
  /// Bytes of the first pre-copy round, when the driver reported rounds.
  public var firstRoundBytes: Double?
  /// Bytes left for the final copy when the guest stopped, when the driver said.
  public var finalCopyBytes: Double?
  /// The stop-and-copy pause (live), seconds: the guest's outage, from its stop on the source
  /// to its resume on the destination, where the driver can tell (else the hypervisor's figure).
  public var downtimeSeconds: Double
  /// The hypervisor's own downtime (live), seconds: QEMU's, from the stop until the last byte
  /// left the source; shorter than ``downtimeSeconds`` by what the destination and the switchover
  /// took after it.
  public var hypervisorDowntimeSeconds: Double?
  /// The highest auto-converge throttle reached.
  public var throttle: Double
  /// The guest's shutdown (a cold move of a running VM), seconds.
  public var shutdownSeconds: Double?
  /// The guest's boot on the destination (a cold move of a running VM), seconds.
  public var bootSeconds: Double?

  public init(
    vm: String, from: String, to: String, kind: MigrationKind, vmAtStart: VM, downtimeLimitSeconds: Double,
    convergence: Convergence, nominalRate: Double, cap: Double?, fairShare: Double, totalSeconds: Double,
    setupSeconds: Double, transferSeconds: Double, finishSeconds: Double, bytes: Double, rounds: Int,
    firstRoundBytes: Double? = nil, finalCopyBytes: Double? = nil, downtimeSeconds: Double, throttle: Double = 0,
    shutdownSeconds: Double? = nil, bootSeconds: Double? = nil, rateLimiter: Bool? = nil,
    hypervisorDowntimeSeconds: Double? = nil
  ) {
    self.vm = vm
    self.from = from
    self.to = to
    self.kind = kind
    self.vmAtStart = vmAtStart
    self.downtimeLimitSeconds = downtimeLimitSeconds
    self.convergence = convergence
    self.nominalRate = nominalRate
    self.cap = cap
    self.fairShare = fairShare
    self.totalSeconds = totalSeconds
    self.setupSeconds = setupSeconds
    self.transferSeconds = transferSeconds
    self.finishSeconds = finishSeconds
    self.bytes = bytes
    self.rounds = rounds
    self.firstRoundBytes = firstRoundBytes
    self.finalCopyBytes = finalCopyBytes
    self.downtimeSeconds = downtimeSeconds
    self.throttle = throttle
    self.shutdownSeconds = shutdownSeconds
    self.bootSeconds = bootSeconds
    self.rateLimiter = rateLimiter
    self.hypervisorDowntimeSeconds = hypervisorDowntimeSeconds
  }

  /// The rate the transfer would have had alone, under the cap, bytes per second.
  public var entitledRate: Double { min(nominalRate, cap ?? .infinity) }
}
