import ArgumentParser
import BallastModel

/// `--cluster FILE [--policy FILE]`, loaded and validated together before any command runs.
struct ClusterOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("Cluster file (YAML), e.g. clusters/demo.yaml.", valueName: "file"))
  var cluster: String

  @Option(
    name: .long,
    help: ArgumentHelp("Policy file (YAML). Default: the built-in balanced policy.", valueName: "file"))
  var policy: String?

  /// The policy (defaults when no file is given) and the cluster, both validated, with
  /// every error of both files reported at once. The cluster's own rules are added to the
  /// policy's, so planners read one list.
  func load() throws -> (cluster: Cluster, policy: Policy) {
    var issues: [FileIssue] = []
    var policyValue = Policy()
    if let policy {
      do { policyValue = try PolicyFile.load(path: policy) } catch let error as FileErrors { issues += error.issues }
    }
    var clusterValue: Cluster?
    do {
      clusterValue = try ClusterFile.load(path: cluster, policy: issues.isEmpty ? policyValue : nil)
    } catch let error as FileErrors {
      issues += error.issues
    }
    if let clusterValue, let policy, issues.isEmpty {
      do {
        _ = try PolicyFile.load(path: policy, cluster: clusterValue)
      } catch let error as FileErrors {
        issues += error.issues
      }
    }
    guard let clusterValue, issues.isEmpty else { throw FileErrors(issues) }
    policyValue.rules = clusterValue.rules + policyValue.rules
    return (clusterValue, policyValue)
  }
}
