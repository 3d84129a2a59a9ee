import Foundation

/// Reading, checking and writing cluster files (`clusters/*.yaml`).
public enum ClusterFile {
  /// The format version this build reads and writes.
  public static let currentVersion = 1

  /// Loads and validates the cluster file at `path`; throws ``FileErrors`` listing every problem.
  /// Rules the cluster breaks are not errors (see ``ClusterValidator`` and ``RuleViolations``).
  public static func load(path: String) throws -> Cluster {
    let text = try readText(path)
    return try parse(text, file: path)
  }

  /// Parses and validates cluster YAML `text` (named `file` in errors).
  public static func parse(_ text: String, file: String) throws -> Cluster {
    let diagnostics = YAMLDiagnostics(file: file)
    guard let root = diagnostics.compose(text) else {
      if diagnostics.issues.isEmpty {
        diagnostics.report(nil, "", "the file is empty; expected a cluster with version, name, hosts and vms")
      }
      throw FileErrors(diagnostics.issues)
    }
    let reader = ClusterReader(diagnostics: diagnostics)
    let cluster = reader.read(YAMLValue(node: root, path: "", diagnostics: diagnostics))
    var issues = diagnostics.issues
    if let cluster, issues.isEmpty {
      issues += ClusterValidator.check(cluster, sourceMap: diagnostics.sourceMap)
    }
    guard let cluster, issues.isEmpty else { throw FileErrors(issues) }
    return cluster
  }

  static func readText(_ path: String) throws -> String {
    guard FileManager.default.fileExists(atPath: path) else {
      throw FileErrors([
        FileIssue(file: path, line: 0, column: 0, keyPath: "", message: "no such file; check the path")
      ])
    }
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
    else {
      throw FileErrors([
        FileIssue(file: path, line: 0, column: 0, keyPath: "", message: "cannot read the file as UTF-8 text")
      ])
    }
    return text
  }

  /// Writes `cluster` to `path` atomically (a temporary file renamed over the old one).
  public static func save(_ cluster: Cluster, to path: String) throws {
    try AtomicFile.write(ClusterWriter.yaml(cluster), to: path)
  }
}

/// Writes text files atomically: a temporary file in the same folder, renamed into place.
public enum AtomicFile {
  /// Replaces `path` with `text`; readers see the old or the new file, never a mix.
  public static func write(_ text: String, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
      .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
    do {
      try Data(text.utf8).write(to: temporary)
      if rename(temporary.path, url.path) != 0 {
        throw CocoaError(.fileWriteUnknown)
      }
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw FileErrors([
        FileIssue(
          file: path, line: 0, column: 0, keyPath: "",
          message: "cannot write the file (\(error.localizedDescription)); check the folder exists and is writable")
      ])
    }
  }
}
