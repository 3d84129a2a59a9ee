/// Names of VMs, hosts and datastores made safe for the places they end up: file names, QEMU
/// options, XML, URIs and messages.
///
/// Names come from files anyone may write, so they are never used raw: a driver builds every
/// path component with ``fileName(_:)`` (and reads names back with ``name(fromFileName:)``),
/// every QEMU `key=value` option value with ``qemuOptionValue(_:)``, and (a libvirt driver)
/// every XML text or attribute with ``xmlEscaped(_:)`` and every URI part with
/// ``uriComponent(_:)``. Messages quote names with ``quoted(_:limit:)``.
///
/// What a name may be is checked when a file is read (``problem(with:)``): not blank, at most
/// 255 bytes, no control characters. Everything else (spaces, `/`, `..`, commas, quotes,
/// any Unicode) is a valid name that these functions carry safely.
public enum SafeName {
  /// The longest file name ``fileName(_:)`` may produce for a driver that adds its own
  /// prefixes and suffixes (`.incoming`, `-disk0.qcow2`) to it: 240 bytes of the file
  /// systems' 255.
  public static let fileNameLimit = 240

  /// Why `name` cannot be a name, in a sentence for an error message; `nil` when it can.
  public static func problem(with name: String) -> String? {
    let bytes = name.utf8.count
    if name.trimmingWhitespace().isEmpty { return "expected a non-empty name" }
    if bytes > Limits.nameBytes.upperBound {
      return "a name is at most \(Limits.nameBytes.upperBound) bytes, this one has \(bytes) (\(quoted(name)))"
    }
    if name.unicodeScalars.contains(where: isControl) {
      return "a name cannot contain control characters such as newlines or tabs (\(quoted(name)))"
    }
    return nil
  }

  /// Why `name` cannot be stored as a file name by a driver (its ``fileName(_:)`` is longer
  /// than ``fileNameLimit``); `nil` when it can.
  public static func fileNameProblem(with name: String) -> String? {
    let length = fileName(name).utf8.count
    guard length > fileNameLimit else { return nil }
    return "as a file name this name takes \(length) bytes (each '/', '%' and leading '.' takes 3), "
      + "more than the \(fileNameLimit) a lab allows; shorten it"
  }

  /// A file name standing for `name`, safe as one path component and distinct for distinct
  /// names: `%`, `/`, control characters and a leading `.` are written `%XX` (UTF-8 bytes in
  /// hex), everything else is kept. So `../../x` becomes `%2E.%2F..%2Fx`, never a parent
  /// folder, and the result never starts with a dot (never hidden, never `.` or `..`).
  public static func fileName(_ name: String) -> String {
    var result = ""
    for (i, scalar) in name.unicodeScalars.enumerated() {
      if scalar == "%" || scalar == "/" || isControl(scalar) || (i == 0 && scalar == ".") {
        for byte in String(scalar).utf8 { result += "%" + hex(byte) }
      } else {
        result.unicodeScalars.append(scalar)
      }
    }
    return result
  }

  /// The name ``fileName(_:)`` turned into `file`, or `nil` when `file` is not such a file name.
  public static func name(fromFileName file: String) -> String? {
    var bytes: [UInt8] = []
    var utf8 = Array(file.utf8)[...]
    while let byte = utf8.popFirst() {
      guard byte == UInt8(ascii: "%") else {
        bytes.append(byte)
        continue
      }
      guard utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else {
        return nil
      }
      bytes.append(value)
      utf8 = utf8.dropFirst(2)
    }
    guard let name = String(validating: bytes, as: UTF8.self), fileName(name) == file else { return nil }
    return name
  }

  /// `value` as the value of a QEMU `key=value,…` option: every comma doubled, which QEMU
  /// reads back as one comma (so `a,b=c` cannot add an option `b`).
  public static func qemuOptionValue(_ value: String) -> String {
    value.replacingAll(",", with: ",,")
  }

  /// `text` as XML character data or a quoted attribute value: `&`, `<`, `>`, `"` and `'`
  /// written as entities.
  public static func xmlEscaped(_ text: String) -> String {
    var result = ""
    for character in text {
      switch character {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case ">": result += "&gt;"
      case "\"": result += "&quot;"
      case "'": result += "&apos;"
      default: result.append(character)
      }
    }
    return result
  }

  /// `text` as one URI path segment or query value: every byte other than the unreserved
  /// `A–Z a–z 0–9 - . _ ~` percent-encoded (RFC 3986).
  public static func uriComponent(_ text: String) -> String {
    var result = ""
    for byte in text.utf8 {
      let scalar = Unicode.Scalar(byte)
      if scalar.isASCIIAlphanumeric || "-._~".unicodeScalars.contains(scalar) {
        result.unicodeScalars.append(scalar)
      } else {
        result += "%" + hex(byte)
      }
    }
    return result
  }

  /// `text` in single quotes for a message: control characters written as `\n`, `\t` or
  /// `\u{…}`, and cut to `limit` characters (`…` marks the cut), so a hostile or huge value
  /// cannot flood or garble a terminal.
  public static func quoted(_ text: String, limit: Int = 60) -> String {
    var result = ""
    var count = 0
    for scalar in text.unicodeScalars {
      if count >= limit {
        result += "…"
        break
      }
      count += 1
      switch scalar {
      case "\n": result += "\\n"
      case "\t": result += "\\t"
      case "\r": result += "\\r"
      case _ where isControl(scalar): result += "\\u{\(String(scalar.value, radix: 16))}"
      default: result.unicodeScalars.append(scalar)
      }
    }
    return "'\(result)'"
  }

  /// C0 and C1 control characters and DEL, the line and paragraph separators, and the
  /// byte-order mark (YAML drops it at the start of a value): what a name must not contain.
  public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || [0x2028, 0x2029, 0xFEFF].contains(scalar.value)
  }

  private static func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
  }
}

extension Unicode.Scalar {
  fileprivate var isASCIIAlphanumeric: Bool {
    ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
  }
}

extension String {
  /// The string with every `target` replaced by `replacement` (without Foundation).
  func replacingAll(_ target: Character, with replacement: String) -> String {
    var result = ""
    for character in self {
      if character == target { result += replacement } else { result.append(character) }
    }
    return result
  }
}
