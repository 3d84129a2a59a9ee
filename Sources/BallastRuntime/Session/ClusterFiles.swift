import BallastModel

/// A cluster file and an optional policy file, loaded and validated together.
public struct ClusterFiles: Sendable, Hashable {
  /// The cluster file (YAML).
  public var clusterPath: String
  /// The policy file (YAML); `nil` for the built-in balanced policy.
  public var policyPath: String?

  public init(cluster clusterPath: String, policy policyPath: String? = nil) {
    self.clusterPath = clusterPath
    self.policyPath = policyPath
  }

  /// The policy (defaults when no file is given) and the cluster, both validated, with
  /// every error of both files reported at once. The cluster's own rules are added to the
  /// policy's, so planners read one list.
  /// - Throws: `FileErrors` with every issue of both files.
  public func load() throws -> (cluster: Cluster, policy: Policy) {
    var issues: [FileIssue] = []
    var policyValue = Policy()
    if let policyPath {
      do { policyValue = try PolicyFile.load(path: policyPath) } catch let error as FileErrors {
        issues += error.issues
      }
    }
    var clusterValue: Cluster?
    do {
      clusterValue = try ClusterFile.load(path: clusterPath)
    } catch let error as FileErrors {
      issues += error.issues
    }
    if let clusterValue, let policyPath, issues.isEmpty {
      do {
        _ = try PolicyFile.load(path: policyPath, cluster: clusterValue)
      } catch let error as FileErrors {
        issues += error.issues
      }
    }
    guard let clusterValue, issues.isEmpty else { throw FileErrors(issues) }
    policyValue.rules = clusterValue.rules + policyValue.rules
    return (clusterValue, policyValue)
  }

  /// The policy file at `path`, checked against `cluster` (its rules name the cluster's VMs
  /// and hosts), with the cluster's own rules added: a policy to reload (SIGHUP) or compare.
  /// - Throws: `FileErrors` with every issue of the file.
  public static func policy(at path: String, for cluster: Cluster) throws -> Policy {
    var policy = try PolicyFile.load(path: path, cluster: cluster)
    policy.rules = cluster.rules + policy.rules
    return policy
  }
}
