/// A data rate in bytes per second: migration links, dirty rates, bandwidth caps.
///
/// Written in files with a unit: `10Gbit/s`, `800Mbit/s`, `200MB/s`, `1GiB/s`.
public struct Bandwidth: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
  /// The rate in bytes per second.
  public var bytesPerSecond: Double

  /// Creates a rate from bytes per second.
  public init(bytesPerSecond: Double) { self.bytesPerSecond = bytesPerSecond }

  /// `n` gigabits per second (10⁹ bits).
  public static func gbit(_ n: Double) -> Bandwidth { Bandwidth(bytesPerSecond: n * 1e9 / 8) }
  /// `n` megabytes per second (10⁶ bytes).
  public static func mbPerSecond(_ n: Double) -> Bandwidth { Bandwidth(bytesPerSecond: n * 1e6) }

  public static let zero = Bandwidth(bytesPerSecond: 0)

  public static func < (a: Bandwidth, b: Bandwidth) -> Bool { a.bytesPerSecond < b.bytesPerSecond }

  static let units: [(suffix: String, factor: Double)] = [
    ("Tbit/s", 1e12 / 8), ("Gbit/s", 1e9 / 8), ("Mbit/s", 1e6 / 8), ("kbit/s", 1e3 / 8),
    ("bit/s", 1.0 / 8), ("Gbps", 1e9 / 8), ("Mbps", 1e6 / 8),
    ("GiB/s", 1_073_741_824), ("MiB/s", 1_048_576), ("KiB/s", 1024),
    ("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3), ("KB/s", 1e3), ("B/s", 1),
  ]

  /// Parses `10Gbit/s`, `200MB/s`, `1GiB/s`; `nil` when there is no known unit or the value is
  /// negative or not finite (ranges are checked where the value is read, see ``Limits``).
  public init?(parsing text: String) {
    guard let value = UnitParser.parse(text, units: Self.units), value >= 0 else { return nil }
    self.bytesPerSecond = value
  }

  /// The rate in decimal bytes per second (`1.25GB/s`), the unit `query-migrate` reports in.
  public var description: String {
    UnitParser.format(bytesPerSecond, units: [("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3), ("B/s", 1)])
  }

  public init(from decoder: any Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    guard let parsed = Bandwidth(parsing: text) else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: "expected a rate like 10Gbit/s, got \(text)"))
    }
    self = parsed
  }

  /// The rate written exactly: `10Gbit/s`, `200MB/s`, `900Mbit/s`, or bytes per second.
  /// What files and encoders write, so values read back unchanged.
  public var exactDescription: String {
    let bits = bytesPerSecond * 8
    let candidates: [(String, Double)] = [
      ("Gbit/s", bits / 1e9), ("MB/s", bytesPerSecond / 1e6), ("Mbit/s", bits / 1e6), ("kB/s", bytesPerSecond / 1e3),
    ]
    for (suffix, value) in candidates where value >= 1 {
      if let whole = UnitParser.wholeNumber(value) { return whole + suffix }
    }
    return (UnitParser.wholeNumber(bytesPerSecond) ?? String(bytesPerSecond)) + "B/s"
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(exactDescription)
  }
}
