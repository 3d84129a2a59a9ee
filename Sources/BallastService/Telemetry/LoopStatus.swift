import BallastEngine
import BallastModel

/// What `/api/status` answers: the loop as its last round saw it, and what moves now.
public struct LoopStatus: Sendable, Hashable, Codable {
  /// One host as the last round measured it.
  public struct HostStatus: Sendable, Hashable, Codable {
    public var name: String
    /// `active`, `maintenance`, or `unseen` (not reported or samples too old).
    public var state: String
    /// Utilization as a ratio of capacity (CPU can pass 1).
    public var cpu: Double
    public var memory: Double
  }

  /// The last round's imbalance.
  public struct ImbalanceStatus: Sendable, Hashable, Codable {
    /// The load as sampled.
    public var measured: Double?
    /// Smoothed over the policy's window: what the loop acts on.
    public var smoothed: Double
    public var threshold: Double
  }

  /// The last round that completed: when, what it decided and why.
  public struct RoundStatus: Sendable, Hashable, Codable {
    /// Unix time (wall clock) it completed.
    public var endedAt: Double
    /// On the cluster's clock (virtual for a simulated cluster), as the history records it.
    public var clusterTime: Double
    /// `balanced`, `holding`, `backingOff`, `nothingToDo`, `planned`, `executed` or `leaseHeld`.
    public var decision: String
    /// The decision and why, as the loop logs it.
    public var message: String
    public var plannedMoves: Int?
    public var seconds: Double
  }

  /// Who holds the cluster's migration lease.
  public struct LeaseStatus: Sendable, Hashable, Codable {
    public var holder: String
    public var pid: Int32
    public var hostname: String
    public var acquiredAt: Double
    public var expiresAt: Double
    /// This process holds it.
    public var ours: Bool
  }

  public var cluster: String
  /// `active`, or `standby` while another instance balances the cluster.
  public var role: String
  public var health: HealthVerdict
  public var readiness: HealthVerdict
  public var hosts: [HostStatus]
  public var imbalance: ImbalanceStatus?
  public var lastRound: RoundStatus?
  public var roundsCompleted: Int
  public var roundsFailed: Int
  public var lastError: String?
  public var movesInFlight: [MoveInFlight]
  /// The rules the cluster broke in the last round (as `status --json` lists them); hard ones
  /// are repaired first.
  public var violations: [RuleViolation]
  /// `nil` when no process holds the lease.
  public var lease: LeaseStatus?
  /// Real seconds between rounds.
  public var interval: Double
}

/// A migration the engine has started and not ended, with its stage.
public struct MoveInFlight: Sendable, Hashable, Codable {
  public var vm: String
  public var from: String
  public var to: String
  public var kind: MigrationKind
  /// The stage running now; `nil` before the first stage starts.
  public var stage: MigrationStage?
  /// Unix time (wall clock) it started.
  public var startedAt: Double
  /// Pre-copy: the last round's number and what was still dirty after it.
  public var preCopyRound: Int?
  public var remainingBytes: Double?
  /// The move's start on the engine's clock, for its duration (not in the JSON).
  var engineStart: Double = 0

  private enum CodingKeys: String, CodingKey {
    case vm, from, to, kind, stage, startedAt, preCopyRound, remainingBytes
  }
}
