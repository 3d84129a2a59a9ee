import Foundation

/// JSON printing shared by every `--json` output: sorted keys, so the same input gives
/// byte-identical output.
enum JSONOutput {
  /// `value` encoded as pretty-printed JSON with sorted keys.
  static func string<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
      pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
  }

  /// `x` rounded to `places` decimals, for figures people read.
  static func rounded(_ x: Double, _ places: Int = 4) -> Double {
    let factor = pow(10, Double(places))
    return (x * factor).rounded() / factor
  }
}
