import Synchronization

@testable import BallastService

/// A telemetry clock the test moves by hand.
final class ManualClock: Sendable {
  private let seconds = Mutex(1000.0)

  var now: Double { seconds.withLock { $0 } }

  func advance(_ by: Double) { seconds.withLock { $0 += by } }

  var telemetryClock: TelemetryClock {
    TelemetryClock(wall: { 1_800_000_000 + self.now }, monotonic: { self.now })
  }
}
