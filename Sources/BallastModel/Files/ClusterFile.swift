import Foundation

/// Reading, checking and writing cluster files (`clusters/*.yaml`).
public enum ClusterFile {
  /// The format version this build reads and writes.
  public static let currentVersion = 1

  /// Loads and validates the cluster file at `path`; throws ``FileErrors`` listing every problem.
  /// When `policy` is given, allocation limits are checked against its overcommit.
  public static func load(path: String, policy: Policy? = nil) throws -> Cluster {
    let text = try readText(path)
    return try parse(text, file: path, policy: policy)
  }

  /// Parses and validates cluster YAML `text` (named `file` in errors). Every error is
  /// reported at once, in file order: a broken value does not hide the others.
  public static func parse(_ text: String, file: String, policy: Policy? = nil) throws -> Cluster {
    let diagnostics = YAMLDiagnostics(file: file)
    guard let root = diagnostics.compose(text) else {
      if diagnostics.issues.isEmpty {
        diagnostics.report(nil, "", "the file is empty; expected a cluster with version, name, hosts and vms")
      }
      throw FileErrors(diagnostics.issues)
    }
    let reader = ClusterReader(diagnostics: diagnostics)
    guard let read = reader.read(YAMLValue(node: root, path: "", diagnostics: diagnostics)) else {
      throw FileErrors(diagnostics.issues)
    }
    let issues =
      diagnostics.issues
      + ClusterValidator.check(read.cluster, sourceMap: diagnostics.sourceMap, policy: policy, origins: read.origins)
    guard issues.isEmpty else { throw FileErrors(issues.sorted(by: FileIssue.inFileOrder)) }
    return read.cluster
  }

  /// The text of the file at `path`, or ``FileErrors`` saying what is wrong with it: missing,
  /// a directory, not a regular file (a FIFO is never opened for reading, so it cannot hang),
  /// not readable, too large, or not UTF-8 (with the line of the first bad byte).
  public static func readText(_ path: String) throws -> String {
    try TextFile.read(path)
  }

  /// Writes `cluster` to `path` atomically (a temporary file renamed over the old one).
  public static func save(_ cluster: Cluster, to path: String) throws {
    try AtomicFile.write(ClusterWriter.yaml(cluster), to: path)
  }
}
