import ArgumentParser
import BallastHistory
import BallastModel
import BallastRuntime
import Logging

/// `--cluster FILE [--policy FILE]`, loaded and validated together before any command runs.
struct ClusterOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("Cluster file (YAML), e.g. clusters/demo.yaml.", valueName: "file"))
  var cluster: String

  @Option(
    name: .long,
    help: ArgumentHelp("Policy file (YAML). Default: the built-in balanced policy.", valueName: "file"))
  var policy: String?

  /// The cluster and policy files as the runtime takes them.
  var files: ClusterFiles { ClusterFiles(cluster: cluster, policy: policy) }

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
