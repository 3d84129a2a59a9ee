import BallastModel
import Foundation

/// The two clocks telemetry reads: the wall clock for timestamps people and Prometheus read,
/// and a monotonic clock for ages (how long since the last round), which a wall-clock step
/// must not disturb. Tests pass clocks they move by hand.
public struct TelemetryClock: Sendable {
  /// Seconds since the Unix epoch.
  public var wall: @Sendable () -> Double
  /// Seconds since some fixed point in the past; only differences mean anything.
  public var monotonic: @Sendable () -> Double

  public init(wall: @escaping @Sendable () -> Double, monotonic: @escaping @Sendable () -> Double) {
    self.wall = wall
    self.monotonic = monotonic
  }

  /// The system's clocks.
  public static var system: TelemetryClock {
    let origin = ContinuousClock.now
    return TelemetryClock(
      wall: { Date().timeIntervalSince1970 },
      monotonic: { (ContinuousClock.now - origin).milliseconds / 1000 })
  }
}
