import Foundation
import Yams

/// Collects the issues of one file while it is read, and where each key path sits.
final class YAMLDiagnostics {
  var issues: [FileIssue] = []
  var sourceMap: SourceMap
  let file: String

  init(file: String) {
    self.file = file
    self.sourceMap = SourceMap(file: file)
  }

  /// Records `message` at `node` (line 1 when there is none: every issue of a file's content
  /// has a line).
  func report(_ node: Node?, _ keyPath: String, _ message: String) {
    let mark = node?.mark
    issues.append(
      FileIssue(
        file: file, line: max(mark?.line ?? 1, 1), column: max(mark?.column ?? 1, 1), keyPath: keyPath,
        message: message))
  }

  /// Parses `text` into a node tree, reporting a syntax error with its line.
  func compose(_ text: String) -> Node? {
    do {
      // The basic resolver tags every scalar as a string: the readers convert values
      // themselves, and Yams' regex-based tag resolution is most of the parse time.
      return try Yams.compose(yaml: text, .basic)
    } catch let error as YamlError {
      issues.append(syntaxIssue(error, in: text))
    } catch {
      issues.append(FileIssue(file: file, line: 1, column: 1, keyPath: "", message: "cannot parse the file: \(error)"))
    }
    return nil
  }

  /// The issue of a Yams error, at its line (never the document itself as context).
  private func syntaxIssue(_ error: YamlError, in text: String) -> FileIssue {
    func issue(_ line: Int, _ column: Int, _ message: String) -> FileIssue {
      FileIssue(file: file, line: max(line, 1), column: max(column, 1), keyPath: "", message: message)
    }
    switch error {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      let detail = context.map { "\($0.text) " } ?? ""
      return issue(mark.line, mark.column, "YAML syntax error: \(detail)\(problem)")
    case .reader(let problem, let offset, let value, _):
      let (line, column) = offset.map { Self.position(ofCharacter: $0, in: text) } ?? (1, 1)
      let character = value >= 0 ? String(format: " (U+%04X)", value) : ""
      return issue(
        line, column,
        "YAML cannot read this character\(character): \(problem); remove it or write it as an escape in a quoted string"
      )
    case .duplicatedKeysInMapping(let duplicates, let context):
      let keys = duplicates.sorted().map { SafeName.quoted($0) }.joined(separator: ", ")
      return issue(
        context.mark.line, context.mark.column,
        "duplicate key \(keys) in one mapping (first written here); keep one of them")
    default:
      return issue(1, 1, "YAML error: \(error)")
    }
  }

  /// 1-based line and column of the character at `offset` (in `Character`s, as Yams counts).
  static func position(ofCharacter offset: Int, in text: String) -> (line: Int, column: Int) {
    var line = 1
    var column = 1
    for character in text.prefix(offset) {
      if character.isNewline {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    return (line, column)
  }
}

/// One value of a YAML document with its key path; its accessors report wrong types.
struct YAMLValue {
  let node: Node
  let path: String
  let diagnostics: YAMLDiagnostics

  init(node: Node, path: String, diagnostics: YAMLDiagnostics) {
    self.node = node
    self.path = path
    self.diagnostics = diagnostics
    if let mark = node.mark { diagnostics.sourceMap.record(path, line: mark.line, column: mark.column) }
  }

  func fail(_ message: String) { diagnostics.report(node, path, message) }

  private var scalar: String? {
    if case .scalar(let scalar) = node { return scalar.string }
    return nil
  }

  private func scalarOrFail(_ expected: String) -> String? {
    guard let text = scalar else {
      fail("expected \(expected), got a \(node.mapping != nil ? "mapping" : "list")")
      return nil
    }
    return text
  }

  func string() -> String? {
    guard let text = scalarOrFail("a string") else { return nil }
    return text
  }

  func nonEmptyString() -> String? {
    guard let text = string() else { return nil }
    if text.trimmingWhitespace().isEmpty {
      fail("expected a non-empty name")
      return nil
    }
    return text
  }

  /// A name (of a VM, host, datastore, rule, cluster, label): not blank, at most 255 bytes,
  /// no control characters. Names go into paths, command lines and terminals only through
  /// ``SafeName``; these limits keep them printable and storable everywhere.
  func name() -> String? {
    guard let text = nonEmptyString() else { return nil }
    if let problem = SafeName.problem(with: text) {
      fail(problem)
      return nil
    }
    return text
  }

  /// A path written in the file: not blank, at most 4,096 bytes, no control characters.
  func filePath() -> String? {
    guard let text = string() else { return nil }
    if text.isEmpty {
      fail("expected a path, got an empty string")
      return nil
    }
    if text.utf8.count > Limits.pathBytes.upperBound {
      fail("a path is at most \(Limits.pathBytes.upperBound) bytes, this one has \(text.utf8.count)")
      return nil
    }
    if text.unicodeScalars.contains(where: SafeName.isControl) {
      fail("a path cannot contain control characters (\(SafeName.quoted(text)))")
      return nil
    }
    return text
  }

  func int(atLeast minimum: Int) -> Int? {
    guard let text = scalarOrFail("a whole number") else { return nil }
    if let value = Int(text), value >= minimum { return value }
    fail(
      Self.isWholeNumber(text)
        ? "expected a whole number of at least \(minimum), got \(SafeName.quoted(text))"
        : "expected a whole number, got \(SafeName.quoted(text))")
    return nil
  }

  func int(in range: ClosedRange<Int>) -> Int? {
    guard let text = scalarOrFail("a whole number") else { return nil }
    if let value = Int(text), range.contains(value) { return value }
    fail(
      Self.isWholeNumber(text)
        ? "expected a whole number \(range.phrase), got \(SafeName.quoted(text))"
        : "expected a whole number, got \(SafeName.quoted(text))")
    return nil
  }

  /// Whether `text` is written as a whole number (an optional sign, then digits), whatever its size.
  private static func isWholeNumber(_ text: String) -> Bool {
    let digits = text.trimmingWhitespace().drop { $0 == "-" || $0 == "+" }
    return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isWholeNumber }
  }

  func double(in range: ClosedRange<Double>, what: String = "a number") -> Double? {
    guard let text = scalarOrFail(what) else { return nil }
    guard let value = Double(text), value.isFinite else {
      fail("expected \(what) \(range.phrase), got \(SafeName.quoted(text))")
      return nil
    }
    guard range.contains(value) else {
      fail("expected \(what) \(range.phrase), got \(SafeName.quoted(text))")
      return nil
    }
    return value
  }

  func bool() -> Bool? {
    guard let text = scalarOrFail("true or false") else { return nil }
    switch text.lowercased() {
    case "true", "yes", "on": return true
    case "false", "no", "off": return false
    default:
      fail("expected true or false, got \(SafeName.quoted(text))")
      return nil
    }
  }

  func bytes(in range: ClosedRange<ByteCount>) -> ByteCount? {
    quantity(
      "size", like: "8GiB", examples: "8GiB, 512MiB or 40GB", units: ByteCount.units, range: range,
      phrase: range.phrase, parse: ByteCount.init(parsing:))
  }

  func bandwidth(in range: ClosedRange<Bandwidth>) -> Bandwidth? {
    quantity(
      "rate", like: "10Gbit/s", examples: "10Gbit/s, 800Mbit/s or 200MB/s", units: Bandwidth.units, range: range,
      phrase: range.phrase, parse: Bandwidth.init(parsing:))
  }

  func timeSpan(in range: ClosedRange<TimeSpan>) -> TimeSpan? {
    quantity(
      "time", like: "5m", examples: "300ms, 60s, 5m or 1h", units: TimeSpan.units, range: range,
      phrase: range.phrase, parse: TimeSpan.init(parsing:))
  }

  /// A quantity with a unit (`8GiB`, `10Gbit/s`, `5m`) within `range` (`phrase` in words),
  /// reporting a missing unit, an unknown one and an out-of-range value each in its own words.
  private func quantity<Quantity: Comparable>(
    _ noun: String, like example: String, examples: String, units: [(suffix: String, factor: Double)],
    range: ClosedRange<Quantity>, phrase: String, parse: (String) -> Quantity?
  ) -> Quantity? {
    guard let text = scalarOrFail("a \(noun) like \(example)") else { return nil }
    guard let value = parse(text) else {
      fail(
        UnitParser.hasUnit(text, units)
          ? "expected a \(noun) \(phrase), got \(SafeName.quoted(text))"
          : "expected a \(noun) with a unit like \(examples), got \(SafeName.quoted(text))")
      return nil
    }
    guard range.contains(value) else {
      fail("expected a \(noun) \(phrase), got \(SafeName.quoted(text))")
      return nil
    }
    return value
  }

  func choice<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> E? where E.RawValue == String {
    let allowed = E.allCases.map(\.rawValue)
    guard let text = scalarOrFail("one of \(allowed.joined(separator: ", "))") else { return nil }
    guard let value = E(rawValue: text) else {
      fail(
        "expected one of \(allowed.joined(separator: ", ")), got \(SafeName.quoted(text))"
          + Suggestion.hint(for: text, in: allowed))
      return nil
    }
    return value
  }

  func list() -> [YAMLValue]? {
    guard case .sequence(let sequence) = node else {
      fail("expected a list")
      return nil
    }
    return sequence.enumerated().map { YAMLValue(node: $1, path: "\(path)[\($0)]", diagnostics: diagnostics) }
  }

  /// A list of names (see ``name()``).
  func nameList() -> [String]? {
    guard let items = list() else { return nil }
    let names = items.compactMap { $0.name() }
    return names.count == items.count ? names : nil
  }

  func stringMap() -> [String: String]? {
    guard case .mapping(let mapping) = node else {
      fail("expected a mapping of names to values")
      return nil
    }
    var result: [String: String] = [:]
    for (key, value) in mapping {
      guard let k = key.scalar?.string, let v = value.scalar?.string else {
        diagnostics.report(key, path, "expected plain key: value pairs")
        continue
      }
      if let problem = SafeName.problem(with: k) {
        diagnostics.report(key, path, problem)
        continue
      }
      if !v.isEmpty, let problem = SafeName.problem(with: v) {
        diagnostics.report(value, "\(path).\(k)", problem)
        continue
      }
      result[k] = v
    }
    return result
  }

  /// The value as a mapping with only `keys` allowed; unknown keys are reported with a suggestion.
  func object(_ keys: [String]) -> YAMLObject? {
    guard case .mapping(let mapping) = node else {
      fail("expected a mapping with keys \(keys.joined(separator: ", "))")
      return nil
    }
    var fields: [String: YAMLValue] = [:]
    for (keyNode, valueNode) in mapping {
      guard let key = keyNode.scalar?.string else {
        diagnostics.report(keyNode, path, "expected a plain key")
        continue
      }
      guard keys.contains(key) else {
        let shown = key.count > 64 ? String(key.prefix(60)) + "…" : key
        let childPath = path.isEmpty ? shown : "\(path).\(shown)"
        diagnostics.report(
          keyNode, childPath,
          "unknown key \(SafeName.quoted(key))" + Suggestion.hint(for: key, in: keys)
            + (Suggestion.closest(to: key, in: keys) == nil ? "; expected one of \(keys.joined(separator: ", "))" : ""))
        continue
      }
      let childPath = path.isEmpty ? key : "\(path).\(key)"
      if fields[key] != nil {
        diagnostics.report(keyNode, childPath, "duplicate key \(SafeName.quoted(key))")
        continue
      }
      fields[key] = YAMLValue(node: valueNode, path: childPath, diagnostics: diagnostics)
    }
    return YAMLObject(value: self, fields: fields)
  }
}

/// A mapping whose keys were checked; look values up as required or optional.
struct YAMLObject {
  let value: YAMLValue
  let fields: [String: YAMLValue]

  /// The value of `key`, reporting it as missing when absent.
  func required(_ key: String, _ expected: String) -> YAMLValue? {
    guard let field = fields[key] else {
      value.diagnostics.report(
        value.node, value.path.isEmpty ? key : "\(value.path).\(key)", "missing key '\(key)' (\(expected))")
      return nil
    }
    return field
  }

  /// The value of `key`, or `nil` when absent.
  func optional(_ key: String) -> YAMLValue? { fields[key] }
}
