import Foundation

extension ClusterFiles {
  /// The environment variable naming the cluster file when `--cluster` is not given.
  public static let clusterVariable = "BALLAST_CLUSTER"
  /// The environment variable naming the policy file when `--policy` is not given.
  public static let policyVariable = "BALLAST_POLICY"
  /// The cluster file of a machine's installation, used when neither `--cluster` nor
  /// `$BALLAST_CLUSTER` is given.
  public static let systemClusterFile = "/etc/ballast/cluster.yaml"
  /// The policy file of a machine's installation, used when it exists and neither `--policy`
  /// nor `$BALLAST_POLICY` is given.
  public static let systemPolicyFile = "/etc/ballast/policy.yaml"

  /// The files a command uses, the usual way: the option, else the environment variable, else
  /// the installation's file under `/etc/ballast` — the cluster's always, the policy's when it
  /// exists (else the built-in balanced policy). Empty values count as not given.
  public static func resolve(
    cluster: String?, policy: String?, environment: [String: String],
    fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
  ) -> ClusterFiles {
    func given(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
    let clusterPath = given(cluster) ?? given(environment[clusterVariable]) ?? systemClusterFile
    let policyPath =
      given(policy) ?? given(environment[policyVariable]) ?? (fileExists(systemPolicyFile) ? systemPolicyFile : nil)
    return ClusterFiles(cluster: clusterPath, policy: policyPath)
  }

  /// Why no cluster file is at hand, when none was named and the installation has none;
  /// `nil` when there is one to read.
  public static func missingClusterFile(
    cluster: String?, environment: [String: String],
    fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
  ) -> String? {
    let named = [cluster, environment[clusterVariable]].contains { !($0 ?? "").isEmpty }
    guard !named, !fileExists(systemClusterFile) else { return nil }
    return "no cluster file: pass --cluster FILE (e.g. clusters/demo.yaml), set $\(clusterVariable), "
      + "or install one as \(systemClusterFile)"
  }
}
