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

  func report(_ node: Node?, _ keyPath: String, _ message: String) {
    let mark = node?.mark
    issues.append(
      FileIssue(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, keyPath: keyPath, message: message))
  }

  /// Parses `text` into a node tree, reporting a syntax error with its line.
  func compose(_ text: String) -> Node? {
    do {
      // The basic resolver tags every scalar as a string: the readers convert values
      // themselves, and Yams' regex-based tag resolution is most of the parse time.
      return try Yams.compose(yaml: text, .basic)
    } catch let error as YamlError {
      issues.append(syntaxIssue(error))
    } catch {
      issues.append(FileIssue(file: file, line: 0, column: 0, keyPath: "", message: "\(error)"))
    }
    return nil
  }

  private func syntaxIssue(_ error: YamlError) -> FileIssue {
    switch error {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      let detail = context.map { "\($0.text) " } ?? ""
      return FileIssue(
        file: file, line: mark.line, column: mark.column, keyPath: "",
        message: "YAML syntax error: \(detail)\(problem)")
    default:
      return FileIssue(file: file, line: 0, column: 0, keyPath: "", message: "YAML error: \(error)")
    }
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

  func int(atLeast minimum: Int) -> Int? {
    guard let text = scalarOrFail("a whole number") else { return nil }
    guard let value = Int(text) else {
      fail("expected a whole number, got '\(text)'")
      return nil
    }
    guard value >= minimum else {
      fail("expected a whole number of at least \(minimum), got \(value)")
      return nil
    }
    return value
  }

  func int(in range: ClosedRange<Int>) -> Int? {
    guard let value = int(atLeast: range.lowerBound) else { return nil }
    guard range.contains(value) else {
      fail("expected a whole number from \(range.lowerBound) to \(range.upperBound), got \(value)")
      return nil
    }
    return value
  }

  func double(in range: ClosedRange<Double>, what: String = "a number") -> Double? {
    guard let text = scalarOrFail(what) else { return nil }
    guard let value = Double(text), value.isFinite else {
      fail("expected \(what), got '\(text)'")
      return nil
    }
    guard range.contains(value) else {
      fail("expected \(what) from \(range.lowerBound) to \(range.upperBound), got \(text)")
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
      fail("expected true or false, got '\(text)'")
      return nil
    }
  }

  func bytes(positive: Bool = true) -> ByteCount? {
    guard let text = scalarOrFail("a size like 8GiB") else { return nil }
    guard let value = ByteCount(parsing: text) else {
      fail("expected a size with a unit like 8GiB, 512MiB or 40GB, got '\(text)'")
      return nil
    }
    if positive, value.bytes <= 0 {
      fail("expected a size above zero, got '\(text)'")
      return nil
    }
    return value
  }

  func bandwidth(positive: Bool = true) -> Bandwidth? {
    guard let text = scalarOrFail("a rate like 10Gbit/s") else { return nil }
    guard let value = Bandwidth(parsing: text) else {
      fail("expected a rate with a unit like 10Gbit/s, 800Mbit/s or 200MB/s, got '\(text)'")
      return nil
    }
    if positive, value.bytesPerSecond <= 0 {
      fail("expected a rate above zero, got '\(text)'")
      return nil
    }
    return value
  }

  func timeSpan(positive: Bool = false) -> TimeSpan? {
    guard let text = scalarOrFail("a time like 5m") else { return nil }
    guard let value = TimeSpan(parsing: text) else {
      fail("expected a time with a unit like 300ms, 60s, 5m or 1h, got '\(text)'")
      return nil
    }
    if positive, value.seconds <= 0 {
      fail("expected a time above zero, got '\(text)'")
      return nil
    }
    return value
  }

  func choice<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> E? where E.RawValue == String {
    let allowed = E.allCases.map(\.rawValue)
    guard let text = scalarOrFail("one of \(allowed.joined(separator: ", "))") else { return nil }
    guard let value = E(rawValue: text) else {
      fail(
        "expected one of \(allowed.joined(separator: ", ")), got '\(text)'"
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

  func stringList() -> [String]? {
    guard let items = list() else { return nil }
    let strings = items.compactMap { $0.nonEmptyString() }
    return strings.count == items.count ? strings : nil
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
      let childPath = path.isEmpty ? key : "\(path).\(key)"
      guard keys.contains(key) else {
        diagnostics.report(
          keyNode, childPath,
          "unknown key '\(key)'" + Suggestion.hint(for: key, in: keys)
            + (Suggestion.closest(to: key, in: keys) == nil ? "; expected one of \(keys.joined(separator: ", "))" : ""))
        continue
      }
      if fields[key] != nil {
        diagnostics.report(keyNode, childPath, "duplicate key '\(key)'")
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
