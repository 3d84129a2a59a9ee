import Foundation

/// The time source of the store's leases: seconds since the Unix epoch.
///
/// Journal entries carry the engine's own times; only lease expiry reads this clock, so tests
/// can move it forward instead of waiting.
public struct HistoryClock: Sendable {
  /// The current time in seconds since the Unix epoch.
  public let now: @Sendable () -> Double

  public init(now: @escaping @Sendable () -> Double) { self.now = now }

  /// The wall clock.
  public static let system = HistoryClock { Date().timeIntervalSince1970 }
}
