import Testing

@testable import BallastRuntime

/// Where `--cluster` and `--policy` come from when they are not given.
@Suite("cluster and policy files by default")
struct ClusterFilesDefaultsTests {
  let noFiles: (String) -> Bool = { _ in false }
  let installed: (String) -> Bool = { $0.hasPrefix("/etc/ballast/") }

  @Test func theOptionsWinOverTheEnvironmentAndTheInstallation() {
    let files = ClusterFiles.resolve(
      cluster: "c.yaml", policy: "p.yaml",
      environment: ["BALLAST_CLUSTER": "env-c.yaml", "BALLAST_POLICY": "env-p.yaml"], fileExists: installed)
    #expect(files == ClusterFiles(cluster: "c.yaml", policy: "p.yaml"))
  }

  @Test func theEnvironmentWinsOverTheInstallation() {
    let files = ClusterFiles.resolve(
      cluster: nil, policy: nil, environment: ["BALLAST_CLUSTER": "env-c.yaml", "BALLAST_POLICY": "env-p.yaml"],
      fileExists: installed)
    #expect(files == ClusterFiles(cluster: "env-c.yaml", policy: "env-p.yaml"))
  }

  @Test func theInstallationsFilesComeLastAndItsPolicyOnlyWhenItExists() {
    #expect(
      ClusterFiles.resolve(cluster: nil, policy: nil, environment: [:], fileExists: installed)
        == ClusterFiles(cluster: "/etc/ballast/cluster.yaml", policy: "/etc/ballast/policy.yaml"))
    #expect(
      ClusterFiles.resolve(cluster: "", policy: "", environment: ["BALLAST_POLICY": ""], fileExists: noFiles)
        == ClusterFiles(cluster: "/etc/ballast/cluster.yaml", policy: nil))
  }

  @Test func withoutAnyClusterFileTheErrorSaysTheThreeWays() {
    let missing = ClusterFiles.missingClusterFile(cluster: nil, environment: [:], fileExists: noFiles)
    #expect(missing?.contains("--cluster FILE") == true)
    #expect(missing?.contains("$BALLAST_CLUSTER") == true)
    #expect(missing?.contains("/etc/ballast/cluster.yaml") == true)
    #expect(ClusterFiles.missingClusterFile(cluster: nil, environment: [:], fileExists: installed) == nil)
    #expect(
      ClusterFiles.missingClusterFile(cluster: nil, environment: ["BALLAST_CLUSTER": "x"], fileExists: noFiles) == nil)
  }
}
