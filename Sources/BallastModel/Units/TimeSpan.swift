/// A length of time in seconds: hold times, cooldowns, downtime limits, intervals.
///
/// Written in files with a unit: `300ms`, `60s`, `5m`, `1h`, `2d`.
public struct TimeSpan: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
  /// The length in seconds.
  public var seconds: Double

  /// Creates a span of `seconds`.
  public init(seconds: Double) { self.seconds = seconds }

  public static func milliseconds(_ n: Double) -> TimeSpan { TimeSpan(seconds: n / 1000) }
  public static func minutes(_ n: Double) -> TimeSpan { TimeSpan(seconds: n * 60) }
  public static func hours(_ n: Double) -> TimeSpan { TimeSpan(seconds: n * 3600) }

  public static let zero = TimeSpan(seconds: 0)

  public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.seconds < b.seconds }

  /// The span in milliseconds.
  public var milliseconds: Double { seconds * 1000 }

  static let units: [(suffix: String, factor: Double)] = [
    ("ms", 0.001), ("min", 60), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
  ]

  /// Parses `300ms`, `60s`, `5m`, `1h`, `2d`; `nil` when there is no known unit or the value is
  /// negative or not finite (ranges are checked where the value is read, see ``Limits``).
  public init?(parsing text: String) {
    guard let value = UnitParser.parse(text, units: Self.units), value >= 0 else { return nil }
    self.seconds = value
  }

  /// The span in the largest unit that keeps it whole where possible: `300ms`, `5m`, `1.5h`.
  public var description: String {
    UnitParser.format(seconds, units: [("d", 86400), ("h", 3600), ("m", 60), ("s", 1), ("ms", 0.001)])
  }

  public init(from decoder: any Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    guard let parsed = TimeSpan(parsing: text) else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: "expected a time like 5m, got \(text)"))
    }
    self = parsed
  }

  /// The span written exactly: `300ms`, `5m`, `1h`, or seconds with every digit.
  /// What encoders write, so values read back unchanged.
  public var exactDescription: String {
    for (suffix, factor) in [("d", 86400.0), ("h", 3600), ("m", 60), ("s", 1)] where seconds >= factor {
      if let whole = UnitParser.wholeNumber(seconds / factor) { return whole + suffix }
    }
    if let whole = UnitParser.wholeNumber(seconds * 1000) { return whole + "ms" }
    return "\(seconds)s"
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(exactDescription)
  }
}
