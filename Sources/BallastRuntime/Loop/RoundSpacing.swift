import BallastModel

/// How far apart the balancing loop's rounds are: on the cluster's clock, never closer than
/// ``Limits/minimumRealInterval`` in real time.
///
/// Intervals, holds, cooldowns and sample times all count on the cluster's clock: the wall
/// clock for real hypervisors, the virtual clock for a simulated cluster (which runs `pace`
/// virtual seconds per real second). At a high pace an interval can be shorter in real time
/// than the floor; it is then stretched on the cluster's clock, so holds and gaps between
/// samples stay consistent with what the loop really does.
public struct RoundSpacing: Sendable, Hashable {
  /// Seconds between the starts of two rounds, on the cluster's clock.
  public var interval: Double
  /// Real seconds per second of the cluster's clock: 1 for real hypervisors, 1 / pace for a
  /// paced simulated cluster.
  public var realSecondsPerClockSecond: Double
  /// Real seconds between the starts of two rounds.
  public var realInterval: Double { interval * realSecondsPerClockSecond }
  /// The interval asked for, when the real-time floor stretched it.
  public var requested: Double?

  /// The spacing for `interval` seconds on a clock running `pace` seconds per real second
  /// (`nil`: the wall clock).
  public init(interval: Double, pace: Double?) {
    let ratio = 1 / (pace ?? 1)
    let floor = Limits.minimumRealInterval.seconds / ratio
    self.interval = max(interval, floor)
    self.realSecondsPerClockSecond = ratio
    self.requested = interval < floor ? interval : nil
  }

  /// Why the interval was stretched, for the log; `nil` when it was not.
  public var note: String? {
    guard let requested else { return nil }
    return "at this pace an interval of \(TimeSpan(seconds: requested)) would be under "
      + "\(Limits.minimumRealInterval) of real time: rounds run every \(TimeSpan(seconds: interval)) of the cluster's clock"
  }

  /// Real seconds to sleep before checking again, when the next round starts at `deadline` on
  /// the cluster's clock (now `clockNow`) and not before `realRemaining` real seconds: short
  /// steps, so a stop request is noticed within 200 ms.
  public func nap(deadline: Double, clockNow: Double, realRemaining: Double) -> Double {
    let clockRemaining = max(0, deadline - clockNow) * realSecondsPerClockSecond
    return min(max(clockRemaining, realRemaining, 0.001), 0.2)
  }
}
