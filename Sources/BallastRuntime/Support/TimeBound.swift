import BallastModel
import Foundation

/// A point in time as a person writes it (`--since`, `/api/history?since=`): a duration back
/// from now (`30m`, `2h`, `7d`) or an ISO-8601 date or time (`2026-01-31`,
/// `2026-01-31T08:00:00Z`; UTC when no zone is given).
public struct TimeBound: Sendable, Hashable {
  public enum Value: Sendable, Hashable {
    /// This many seconds before now.
    case ago(Double)
    /// Seconds since the Unix epoch.
    case at(Double)
  }

  public var value: Value

  public init(_ value: Value) { self.value = value }

  /// The bound `text` says; `nil` when it is neither a duration nor a date.
  public init?(parsing text: String) {
    let text = text.trimmingCharacters(in: .whitespaces)
    if let span = TimeSpan(parsing: text) {
      value = .ago(span.seconds)
      return
    }
    guard let date = Self.parseDate(text) else { return nil }
    value = .at(date.timeIntervalSince1970)
  }

  /// The bound as seconds since the Unix epoch, relative to `now`.
  public func resolve(now: Double) -> Double {
    switch value {
    case .ago(let seconds): now - seconds
    case .at(let time): time
    }
  }

  static func parseDate(_ text: String) -> Date? {
    let formats: [ISO8601DateFormatter.Options] = [
      [.withInternetDateTime, .withFractionalSeconds],
      [.withInternetDateTime],
      [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate],
      [.withFullDate, .withDashSeparatorInDate],
    ]
    for options in formats {
      let formatter = ISO8601DateFormatter()
      formatter.timeZone = TimeZone(identifier: "UTC")
      formatter.formatOptions = options
      if let date = formatter.date(from: text) { return date }
    }
    return nil
  }

  /// What the bound may be, for help texts.
  public static let help =
    "A duration back from now (30m, 2h, 7d) or an ISO-8601 date or time (2026-01-31, 2026-01-31T08:00:00Z)."
}
