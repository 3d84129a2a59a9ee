/// One problem in an input file, located precisely: file, line, column and key path.
public struct FileIssue: Sendable, Hashable, Codable, CustomStringConvertible {
  public var file: String
  /// 1-based line; 0 when the value did not come from a file.
  public var line: Int
  public var column: Int
  /// Where in the document, e.g. `vms[3].disks[0].datastore`.
  public var keyPath: String
  /// What is wrong and what was expected.
  public var message: String

  public init(file: String, line: Int, column: Int, keyPath: String, message: String) {
    self.file = file
    self.line = line
    self.column = column
    self.keyPath = keyPath
    self.message = message
  }

  /// Orders issues of one file by position (stable for issues at the same place).
  public static func inFileOrder(_ a: FileIssue, _ b: FileIssue) -> Bool {
    (a.line, a.column) < (b.line, b.column)
  }

  /// `file:line:column: keyPath: message`, the form editors and terminals link to.
  public var description: String {
    let location = line > 0 ? "\(file):\(line):\(column)" : file
    return keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
  }
}

/// Every problem found in one or more input files; nothing runs when any is found.
public struct FileErrors: Error, Sendable, Hashable, CustomStringConvertible {
  public var issues: [FileIssue]

  public init(_ issues: [FileIssue]) { self.issues = issues }

  public var description: String {
    let count = issues.count == 1 ? "1 error" : "\(issues.count) errors"
    return ([count + ":"] + issues.map { "  " + $0.description }).joined(separator: "\n")
  }
}

/// Where each key path of a parsed file sits, so checks after parsing can point at lines.
public struct SourceMap: Sendable, Hashable {
  public var file: String
  private var positions: [String: Position] = [:]

  struct Position: Sendable, Hashable {
    var line: Int
    var column: Int
  }

  public init(file: String) { self.file = file }

  mutating func record(_ keyPath: String, line: Int, column: Int) {
    positions[keyPath] = Position(line: line, column: column)
  }

  /// An issue at `keyPath` (or at the nearest recorded parent path; line 1 when none is).
  public func issue(_ keyPath: String, _ message: String) -> FileIssue {
    var path = Substring(keyPath)
    while true {
      if let position = positions[String(path)] {
        return FileIssue(
          file: file, line: position.line, column: position.column, keyPath: keyPath, message: message)
      }
      guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
      path = path[..<cut]
    }
    return FileIssue(file: file, line: 1, column: 1, keyPath: keyPath, message: message)
  }
}
