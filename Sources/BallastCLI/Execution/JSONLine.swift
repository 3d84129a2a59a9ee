/// One JSON object on one line, keys in the order they were added (`event` first reads best).
struct JSONLine {
  private var fields: [String] = []

  init(event: String) { add("event", event) }

  mutating func add(_ key: String, _ value: String?) {
    guard let value else { return }
    fields.append("\(Self.quoted(key)):\(Self.quoted(value))")
  }

  mutating func add(_ key: String, _ value: Double?, decimals: Int = 6) {
    guard let value else { return }
    fields.append("\(Self.quoted(key)):\(Self.number(value, decimals: decimals))")
  }

  mutating func add(_ key: String, _ value: Int?) {
    guard let value else { return }
    fields.append("\(Self.quoted(key)):\(value)")
  }

  mutating func add(_ key: String, _ value: Bool) {
    fields.append("\(Self.quoted(key)):\(value)")
  }

  /// Adds `json`, already encoded (an array or an object), as the value of `key`.
  mutating func add(_ key: String, json: String) {
    fields.append("\(Self.quoted(key)):\(json)")
  }

  var text: String { "{" + fields.joined(separator: ",") + "}" }

  /// `value` rounded to `decimals`, as a JSON number (`null` when not finite).
  static func number(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return "null" }
    var factor = 1.0
    for _ in 0..<decimals { factor *= 10 }
    let rounded = (value * factor).rounded() / factor
    if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
    return "\(rounded)"
  }

  /// `text` as a JSON string literal.
  static func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
