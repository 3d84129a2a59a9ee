/// Tracks how long the imbalance has stayed above the threshold, so one spike moves nothing.
///
/// Fed one observation per round (or rebuilt from recorded host samples after a restart).
/// A gap longer than `maxGap` between observations breaks the streak: what happened while
/// nobody was watching is not evidence.
struct HoldTracker: Sendable, Hashable {
  var threshold: Double
  var maxGap: Double
  /// When the current run of above-threshold observations began.
  private(set) var aboveSince: Double?
  private var lastObservation: Double?

  init(threshold: Double, maxGap: Double) {
    self.threshold = threshold
    self.maxGap = maxGap
  }

  mutating func observe(at time: Double, imbalance: Double) {
    if let last = lastObservation, time - last > maxGap { aboveSince = nil }
    lastObservation = time
    aboveSince = imbalance > threshold ? (aboveSince ?? time) : nil
  }

  /// Seconds the imbalance has been above the threshold at `now` (0 when it is not).
  func heldFor(now: Double) -> Double { aboveSince.map { max(0, now - $0) } ?? 0 }

  /// Forgets the current streak (after the loop acted, or backed off).
  mutating func reset() { aboveSince = nil }
}
