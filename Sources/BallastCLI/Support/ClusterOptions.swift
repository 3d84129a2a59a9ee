import ArgumentParser
import BallastHistory
import BallastModel
import BallastRuntime
import Foundation
import Logging

/// `--cluster FILE [--policy FILE]`, loaded and validated together before any command runs.
///
/// Without the options: `$BALLAST_CLUSTER` / `$BALLAST_POLICY`, then the installation's
/// `/etc/ballast/cluster.yaml` and `/etc/ballast/policy.yaml` (``ClusterFiles/resolve``).
struct ClusterOptions: ParsableArguments {
  @Option(
    name: .customLong("cluster"),
    help: ArgumentHelp(
      "Cluster file (YAML), e.g. clusters/demo.yaml. Default: $\(ClusterFiles.clusterVariable), "
        + "else \(ClusterFiles.systemClusterFile).",
      valueName: "file"))
  var clusterOption: String?

  @Option(
    name: .customLong("policy"),
    help: ArgumentHelp(
      "Policy file (YAML). Default: $\(ClusterFiles.policyVariable), else \(ClusterFiles.systemPolicyFile) "
        + "when it exists, else the built-in balanced policy.",
      valueName: "file"))
  var policyOption: String?

  func validate() throws {
    let environment = ProcessInfo.processInfo.environment
    if let missing = ClusterFiles.missingClusterFile(cluster: clusterOption, environment: environment) {
      throw ValidationError(missing)
    }
  }

  /// The cluster and policy files as the runtime takes them, after the options, the
  /// environment and the installation's files.
  var files: ClusterFiles {
    ClusterFiles.resolve(cluster: clusterOption, policy: policyOption, environment: ProcessInfo.processInfo.environment)
  }

  /// The cluster file's path.
  var cluster: String { files.clusterPath }

  /// The policy file's path; `nil` for the built-in balanced policy.
  var policy: String? { files.policyPath }

  /// The policy (defaults when no file is given) and the cluster, both validated, with
  /// every error of both files reported at once (see ``ClusterFiles/load()``).
  func load() throws -> (cluster: Cluster, policy: Policy) { try files.load() }
}

extension ClusterSession {
  /// The session of a command's `--cluster`/`--policy` and `--db` options.
  static func open(
    files: ClusterOptions, database: DatabaseOptions, statePath: String?,
    logger: Logger = HistoryStore.quietLogger
  ) async throws
    -> ClusterSession
  {
    try await open(files: files.files, databasePath: database.path, statePath: statePath, logger: logger)
  }
}
