/// Parsing and printing of `<number><unit>` quantities, shared by the unit types.
enum UnitParser {
  /// The value of `text` (a decimal number, optional spaces, then one of `units`) in base units.
  static func parse(_ text: String, units: [(suffix: String, factor: Double)]) -> Double? {
    let trimmed = text.trimmingWhitespace()
    for unit in units where trimmed.hasSuffix(unit.suffix) {
      let number = String(trimmed.dropLast(unit.suffix.count)).trimmingWhitespace()
      guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }),
        let value = Double(number)
      else { continue }
      return value * unit.factor
    }
    return nil
  }

  /// `value` printed in the first of `units` it is at least one of, with at most two decimals.
  static func format(_ value: Double, units: [(suffix: String, factor: Double)]) -> String {
    guard value != 0 else { return "0\(units.last?.suffix ?? "")" }
    let unit = units.first { abs(value) >= $0.factor } ?? units[units.count - 1]
    return trimmedNumber(value / unit.factor) + unit.suffix
  }

  /// `x` with up to two decimals and no trailing zeros: `8`, `1.5`, `0.25`.
  static func trimmedNumber(_ x: Double) -> String {
    let scaled = (x * 100).rounded() / 100
    if scaled == scaled.rounded() { return String(Int64(scaled)) }
    var text = String(scaled)
    while text.hasSuffix("0") { text.removeLast() }
    return text
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
