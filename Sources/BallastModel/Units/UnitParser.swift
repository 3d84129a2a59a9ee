/// Parsing and printing of `<number><unit>` quantities, shared by the unit types.
enum UnitParser {
  /// The value of `text` (a decimal number, optional spaces, then one of `units`) in base units.
  static func parse(_ text: String, units: [(suffix: String, factor: Double)]) -> Double? {
    let trimmed = text.trimmingWhitespace()
    for unit in units where trimmed.hasSuffix(unit.suffix) {
      let number = String(trimmed.dropLast(unit.suffix.count)).trimmingWhitespace()
      guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
        let value = Double(number), value.isFinite, (value * unit.factor).isFinite
      else { continue }
      return value * unit.factor
    }
    return nil
  }

  /// Whether `text` ends in one of `units` after a number, whatever the number: a value that
  /// does not parse then is out of range (too many digits), not missing its unit.
  static func hasUnit(_ text: String, _ units: [(suffix: String, factor: Double)]) -> Bool {
    let trimmed = text.trimmingWhitespace()
    return units.contains { unit in
      guard trimmed.hasSuffix(unit.suffix) else { return false }
      let number = String(trimmed.dropLast(unit.suffix.count)).trimmingWhitespace()
      return !number.isEmpty && number.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
        && number.contains { $0.isNumber }
    }
  }

  /// `value` printed in the first of `units` it is at least one of, with at most two decimals.
  static func format(_ value: Double, units: [(suffix: String, factor: Double)]) -> String {
    guard value != 0 else { return "0\(units.last?.suffix ?? "")" }
    let unit = units.first { abs(value) >= $0.factor } ?? units[units.count - 1]
    return trimmedNumber(value / unit.factor) + unit.suffix
  }

  /// `x` with up to two decimals and no trailing zeros: `8`, `1.5`, `0.25`; values too large
  /// for whole-number printing (or not finite) as Swift prints them (`1e+30`, `inf`).
  static func trimmedNumber(_ x: Double) -> String {
    let scaled = (x * 100).rounded() / 100
    if let whole = wholeNumber(scaled) { return whole }
    guard scaled.isFinite, abs(scaled) < wholeLimit else { return String(x) }
    var text = String(scaled)
    while text.hasSuffix("0") { text.removeLast() }
    return text
  }
}

extension UnitParser {
  /// Magnitude below which every whole `Double` prints exactly as an integer (2⁵³).
  static let wholeLimit: Double = 9_007_199_254_740_992

  /// `x` printed as a whole number (`42`), or `nil` when it is not whole, not finite or too large
  /// to print that way: never traps, whatever `x` is.
  static func wholeNumber(_ x: Double) -> String? {
    guard x.isFinite, abs(x) < wholeLimit, x == x.rounded() else { return nil }
    return String(Int64(x))
  }
}

extension String {
  /// The string without leading and trailing spaces, tabs and newlines.
  func trimmingWhitespace() -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
    guard let first = firstIndex(where: { !isSpace($0) }),
      let last = lastIndex(where: { !isSpace($0) })
    else { return "" }
    return String(self[first...last])
  }
}
