import BallastEngine
import BallastModel

/// The policy's convergence rules over a live transfer's rounds, for any driver: whether
/// pre-copy stopped converging, and what the policy says to do then.
///
/// A driver feeds it each round it reads from its backend (``roundEnded(remaining:transferred:bandwidth:)``)
/// and the throttle it sees, and carries out the ``Action`` it returns (QEMU: a QMP parameter;
/// libvirt: `virDomainMigrateSetMaxDowntime` or `virDomainAbortJob`).
public struct ConvergenceWatch: Sendable {
  /// What the policy asks of the transfer now.
  public enum Action: Sendable, Hashable {
    /// Let it run.
    case none
    /// Stop the transfer: the VM stays on its source. The reason, in an operator's words.
    case abort(String)
    /// Raise the backend's downtime limit to this many milliseconds.
    case raiseDowntimeLimit(milliseconds: Int64)
  }

  /// The largest downtime limit QEMU accepts (2,000 s), in milliseconds: "any downtime".
  public static let unlimitedDowntimeMs: Int64 = 2_000_000

  public let settings: LiveSettings
  /// The VM's memory, in bytes (the `xen` stop rule's total cap is a multiple of it).
  public let memory: Double
  /// The bandwidth the transfer was given, for the abort reason before a round measured one.
  public let bandwidth: Double
  /// Rounds ended so far.
  public private(set) var rounds = 0
  /// Bytes still dirty after the last round.
  public private(set) var lastRemaining: Double = 0
  /// Bytes sent in all, after the last reading.
  public private(set) var transferred: Double = 0
  /// Bandwidth of the last round, bytes per second.
  public private(set) var measuredBandwidth: Double = 0
  /// Highest auto-converge throttle seen, 0…1.
  public private(set) var throttle: Double = 0
  private var previousRemaining = Double.infinity
  private var stalledRounds = 0
  private var limitRaised = false
  private var limitRaisedAtRound = 0

  public init(settings: LiveSettings, memory: Double, bandwidth: Double) {
    self.settings = settings
    self.memory = memory
    self.bandwidth = bandwidth
  }

  /// Notes the throttle and the bytes sent of a reading between rounds.
  public mutating func observe(throttle: Double, transferred: Double) {
    self.throttle = max(self.throttle, throttle)
    self.transferred = transferred
  }

  /// Notes a round that ended with `remaining` bytes still dirty, `transferred` bytes sent in
  /// all, at `bandwidth` bytes per second. `roundsSoFar`: the rounds ended counting this one,
  /// when the backend reports several rounds as one (QEMU between two polls); else one more.
  public mutating func roundEnded(
    remaining: Double, transferred: Double, bandwidth: Double, roundsSoFar: Int? = nil
  ) {
    if rounds > 0 { stalledRounds = remaining >= previousRemaining * 0.95 ? stalledRounds + 1 : 0 }
    previousRemaining = remaining
    lastRemaining = remaining
    self.transferred = transferred
    measuredBandwidth = bandwidth
    rounds = roundsSoFar ?? rounds + 1
  }

  /// The model's non-convergence rules: the round cap, the total cap (`xen`), or what remains
  /// no longer shrinking for two rounds (`qemu`).
  public var notConverging: Bool {
    let convergence = settings.convergence
    if rounds >= convergence.maxRounds { return true }
    switch convergence.stopRule {
    case .xen: return transferred + lastRemaining > convergence.maxTotalFactor * memory
    case .qemu: return stalledRounds >= 2
    }
  }

  /// What the policy's `onNoConvergence` asks now, after the last round (call once per round).
  public mutating func action() -> Action {
    guard notConverging else { return .none }
    let convergence = settings.convergence
    switch convergence.onNoConvergence {
    case .abort:
      return .abort(abortReason())
    case .accept:
      guard !limitRaised else { return .none }
      raiseLimit()
      return .raiseDowntimeLimit(milliseconds: Self.unlimitedDowntimeMs)
    case .raiseLimit:
      if !limitRaised {
        raiseLimit()
        return .raiseDowntimeLimit(
          milliseconds: Int64(min(max(convergence.maxDowntime.milliseconds.rounded(), 1), 2e6)))
      }
      guard rounds >= limitRaisedAtRound + 2 else { return .none }
      return .abort(abortReason() + " even with the limit raised to \(convergence.maxDowntime)")
    case .throttle:
      // The backend's auto-converge raises the throttle itself; fully throttled for long, stop anyway.
      guard !limitRaised, throttle >= convergence.throttleMax - 0.005, rounds >= 3 * max(convergence.maxRounds, 1)
      else { return .none }
      raiseLimit()
      return .raiseDowntimeLimit(milliseconds: Self.unlimitedDowntimeMs)
    }
  }

  private mutating func raiseLimit() {
    limitRaised = true
    limitRaisedAtRound = rounds
    stalledRounds = 0
  }

  /// Why the transfer is stopped: what stays dirty and the pause it would take.
  public func abortReason() -> String {
    let rate = measuredBandwidth > 0 ? measuredBandwidth : max(bandwidth, 1)
    let pause = TimeSpan(seconds: lastRemaining / rate)
    return
      "pre-copy does not converge: after \(rounds) rounds \(ByteCount(Int64(min(max(lastRemaining, 0), 9e18)))) stay dirty, "
      + "a \(pause) pause at \(Bandwidth(bytesPerSecond: rate)), over the \(settings.downtimeLimit) limit"
  }
}
