/// An amount of data in bytes: memory, disk sizes, bytes sent.
///
/// Written in files with a unit: `512MiB`, `8GiB`, `40GB` (SI units are powers of 1000,
/// IEC units powers of 1024).
public struct ByteCount: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
  /// The number of bytes.
  public var bytes: Int64

  /// Creates an amount from a number of bytes.
  public init(_ bytes: Int64) { self.bytes = bytes }

  /// `n` kibibytes, mebibytes, gibibytes and tebibytes.
  public static func kib(_ n: Double) -> ByteCount { ByteCount(Int64(n * 1024)) }
  public static func mib(_ n: Double) -> ByteCount { ByteCount(Int64(n * 1_048_576)) }
  public static func gib(_ n: Double) -> ByteCount { ByteCount(Int64(n * 1_073_741_824)) }
  public static func tib(_ n: Double) -> ByteCount { ByteCount(Int64(n * 1_099_511_627_776)) }

  public static let zero = ByteCount(0)

  public static func < (a: ByteCount, b: ByteCount) -> Bool { a.bytes < b.bytes }
  public static func + (a: ByteCount, b: ByteCount) -> ByteCount { ByteCount(a.bytes + b.bytes) }
  public static func - (a: ByteCount, b: ByteCount) -> ByteCount { ByteCount(a.bytes - b.bytes) }
  public static func += (a: inout ByteCount, b: ByteCount) { a.bytes += b.bytes }
  public static func -= (a: inout ByteCount, b: ByteCount) { a.bytes -= b.bytes }

  /// The amount as a floating-point number of bytes, for arithmetic with rates.
  public var double: Double { Double(bytes) }

  static let units: [(suffix: String, factor: Double)] = [
    ("TiB", 1_099_511_627_776), ("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024),
    ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3), ("KB", 1e3), ("B", 1),
  ]

  /// Parses `8GiB`, `512 MiB`, `40GB`, `1024B`; `nil` when there is no known unit.
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
