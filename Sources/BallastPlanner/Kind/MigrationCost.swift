import BallastModel

/// The cost of one migration in the unit the balance planner divides gains by.
///
/// One unit is a move's fixed overhead (so fewer moves are preferred); each minute on the
/// link adds one more, and every 5 seconds of outage another (a running VM moved cold is
/// down for its whole move, so such a move must bring many times the gain of a live one).
public enum MigrationCost {
  /// Seconds of migration worth one cost unit.
  public static let secondsPerUnit = 60.0
  /// Seconds of downtime worth one cost unit.
  public static let downtimeSecondsPerUnit = 5.0

  /// Cost units of a move with this prediction.
  public static func units(_ predicted: PredictedCost) -> Double {
    1 + max(0, predicted.seconds) / secondsPerUnit + max(0, predicted.downtimeMs) / 1000 / downtimeSecondsPerUnit
  }
}
