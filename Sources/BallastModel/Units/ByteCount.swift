/// An amount of data in bytes: memory, disk sizes, bytes sent.
///
/// Written in files with a unit: `512MiB`, `8GiB`, `40GB` (SI units are powers of 1000,
/// IEC units powers of 1024).
public struct ByteCount: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
  /// The number of bytes.
  public var bytes: Int64

  /// Creates an amount from a number of bytes.
  public init(_ bytes: Int64) { self.bytes = bytes }

  /// The amount nearest to `bytes` that fits: rounded, clamped to `0…Int64.max`; NaN is zero.
  /// For amounts computed in floating point (bytes sent, predictions): never traps.
  public init(clamping bytes: Double) {
    guard bytes.isFinite else {
      self.bytes = bytes > 0 ? .max : 0
      return
    }
    self.bytes = bytes >= 9.2e18 ? .max : Int64(max(bytes, 0).rounded())
  }

  /// `n` kibibytes, mebibytes, gibibytes, tebibytes and pebibytes (clamped, see ``init(clamping:)``).
  public static func kib(_ n: Double) -> ByteCount { ByteCount(clamping: n * 1024) }
  public static func mib(_ n: Double) -> ByteCount { ByteCount(clamping: n * 1_048_576) }
  public static func gib(_ n: Double) -> ByteCount { ByteCount(clamping: n * 1_073_741_824) }
  public static func tib(_ n: Double) -> ByteCount { ByteCount(clamping: n * 1_099_511_627_776) }
  public static func pib(_ n: Double) -> ByteCount { ByteCount(clamping: n * 1_125_899_906_842_624) }

  public static let zero = ByteCount(0)

  public static func < (a: ByteCount, b: ByteCount) -> Bool { a.bytes < b.bytes }
  /// Sums and differences saturate at `Int64.min` / `Int64.max` instead of trapping: totals of
  /// many large VMs stay comparable with a host's capacity.
  public static func + (a: ByteCount, b: ByteCount) -> ByteCount {
    ByteCount(saturated(a.bytes.addingReportingOverflow(b.bytes)))
  }
  public static func - (a: ByteCount, b: ByteCount) -> ByteCount {
    ByteCount(saturated(a.bytes.subtractingReportingOverflow(b.bytes)))
  }
  public static func += (a: inout ByteCount, b: ByteCount) { a = a + b }
  public static func -= (a: inout ByteCount, b: ByteCount) { a = a - b }

  private static func saturated(_ result: (partialValue: Int64, overflow: Bool)) -> Int64 {
    guard result.overflow else { return result.partialValue }
    return result.partialValue < 0 ? .max : .min  // the true result has the wrapped one's opposite sign
  }

  /// The amount as a floating-point number of bytes, for arithmetic with rates.
  public var double: Double { Double(bytes) }

  static let units: [(suffix: String, factor: Double)] = [
    ("TiB", 1_099_511_627_776), ("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024),
    ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3), ("KB", 1e3), ("B", 1),
  ]

  /// Parses `8GiB`, `512 MiB`, `40GB`, `1024B`; `nil` when there is no known unit or the value is
  /// negative or too large (ranges are checked where the value is read, see ``Limits``).
  public init?(parsing text: String) {
    guard let value = UnitParser.parse(text, units: Self.units), value >= 0, value < 9e18 else {
      return nil
    }
    self.bytes = Int64(value.rounded())
  }

  /// The amount in the largest binary unit that keeps it at one or more: `8GiB`, `1.5GiB`.
  public var description: String {
    UnitParser.format(
      Double(bytes),
      units: [
        ("TiB", 1_099_511_627_776), ("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024),
        ("B", 1),
      ])
  }

  public init(from decoder: any Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    guard let parsed = ByteCount(parsing: text) else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: "expected a size like 8GiB, got \(text)"))
    }
    self = parsed
  }

  /// The amount written exactly, in the largest binary unit that divides it: `8GiB`,
  /// `1536MiB`, `1000B`. What files and encoders write, so values read back unchanged.
  public var exactDescription: String {
    for (suffix, factor) in [("TiB", Int64(1) << 40), ("GiB", Int64(1) << 30), ("MiB", Int64(1) << 20), ("KiB", 1024)]
    where bytes >= factor && bytes % factor == 0 {
      return "\(bytes / factor)\(suffix)"
    }
    return "\(bytes)B"
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(exactDescription)
  }
}
