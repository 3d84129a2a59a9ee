/// Escaping for text Ballast writes into libvirt XML: a VM, pool or path name never reaches
/// XML raw.
enum XMLText {
  /// `text` safe inside an element or a quoted attribute (`&`, `<`, `>`, `'`, `"` escaped).
  /// Control characters other than tab and newline, which XML 1.0 cannot carry, become U+FFFD.
  static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
      switch scalar {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "'": out += "&apos;"
      case "\"": out += "&quot;"
      case "\t", "\n": out.unicodeScalars.append(scalar)
      default:
        out.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? "\u{FFFD}" : scalar)
      }
    }
    return out
  }
}
