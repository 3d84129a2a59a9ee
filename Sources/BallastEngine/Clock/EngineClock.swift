import Foundation

/// The time source the engine reads and waits on: the wall clock for real hypervisors, a
/// ``VirtualClock`` for the simulated driver.
///
/// Virtual clocks advance only when every concurrent activity is waiting on them, so the engine
/// tells the clock when an activity (one migration) begins and ends with ``join()`` and
/// ``leave()``. Wall clocks ignore both.
public protocol EngineClock: Sendable {
  /// Seconds since the Unix epoch (virtual when simulated): timestamps for the journal.
  func now() -> Double
  /// Seconds since the clock started, monotonic and precise: for measuring durations.
  func uptime() -> Double
  /// Waits `seconds`; the caller must be a participant of a virtual clock.
  func sleep(seconds: Double) async
  /// A new concurrent activity starts: a virtual clock does not advance while it runs.
  func join()
  /// An activity that ``join()`` announced has ended.
  func leave()
}

/// The wall clock: `Date()` and `Task.sleep`.
public struct SystemClock: EngineClock {
  private let started = ContinuousClock.now

  public init() {}

  public func now() -> Double { Date().timeIntervalSince1970 }

  public func uptime() -> Double {
    let duration = ContinuousClock.now - started
    return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
  }

  public func sleep(seconds: Double) async {
    guard seconds > 0 else { return }
    try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
  }

  public func join() {}
  public func leave() {}
}
