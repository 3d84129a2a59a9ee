import BallastTestSupport
import Foundation
import Testing

/// The conventions an operator relies on, with the real binary: files from the environment,
/// JSON logs, the systemd unit.
@Suite("operating ballast")
struct OperationsProcessTests {
  let ballast = ExternalTool(path: LoopProcess.executable.path)

  @Test func clusterAndPolicyComeFromTheEnvironmentWhenNotGiven() async throws {
    let folder = try LoopProcess.workspace(policy: "threshold: 0.7\n")
    defer { try? FileManager.default.removeItem(at: folder) }
    let status = try await ballast.run(
      ["status", "--json"], in: folder, environment: ["BALLAST_CLUSTER": "demo.yaml", "BALLAST_POLICY": "fast.yaml"])
    #expect(status.status == 0, "\(status.stderr)")
    #expect(status.stdout.contains(#""threshold" : 0.7"#), "the policy of $BALLAST_POLICY was not used")
    #expect(status.stdout.contains(#""cluster" : "demo""#))

    // Nothing named and no /etc/ballast/cluster.yaml: a usage error saying the three ways.
    try #require(!FileManager.default.fileExists(atPath: "/etc/ballast/cluster.yaml"), "this machine has one")
    let missing = try await ballast.run(["status"], in: folder, environment: ["BALLAST_CLUSTER": ""])
    #expect(missing.status == 64)
    #expect(missing.stderr.contains("pass --cluster FILE"), "\(missing.stderr)")
    #expect(missing.stderr.contains("$BALLAST_CLUSTER") && missing.stderr.contains("/etc/ballast/cluster.yaml"))
  }

  @Test func logFormatJSONWritesOneObjectPerLineWithTheDecisionsFields() async throws {
    let folder = try LoopProcess.workspace()
    defer { try? FileManager.default.removeItem(at: folder) }
    let round = try await ballast.run(
      ["balance"] + LoopProcess.files + ["--log-format", "json", "--log-level", "debug"], in: folder)
    #expect(round.status == 0, "\(round.stderr)")
    let records = try round.stderr.split(separator: "\n").map { line in
      try #require(
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not one JSON object: \(line)")
    }
    #expect(!records.isEmpty)
    for record in records {
      #expect(record["timestamp"] is String && record["level"] is String && record["message"] is String)
      #expect(record["label"] as? String == "ballast.balance")
    }
    let decision = try #require(records.first { ($0["metadata"] as? [String: Any])?["decision"] != nil })
    let metadata = try #require(decision["metadata"] as? [String: Any])
    #expect(metadata["decision"] as? String == "executed")
    #expect(metadata["cluster"] as? String == "demo")
    #expect((decision["message"] as? String)?.contains("imbalance 0.280") == true)
    #expect(records.contains { ($0["metadata"] as? [String: Any])?["vm"] != nil }, "the engine's records")

    // Above the level, nothing.
    let quiet = try await ballast.run(["balance"] + LoopProcess.files + ["--log-level", "warning"], in: folder)
    #expect(quiet.status == 0)
    #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
  }

  @Test func everyCommandTakesTheLogOptions() async throws {
    for command in [
      ["validate"], ["status"], ["generate", "--hosts", "2", "--vms", "2"], ["plan"], ["drain"], ["balance"],
      ["simulate"], ["lab", "up"], ["lab", "down"], ["lab", "load"], ["lab", "bench"], ["migrate"], ["activate"],
      ["reconcile"],
      ["history", "list"], ["history", "show"], ["history", "plans"], ["bench"], ["discover"],
    ] {
      let help = try await ballast.run(command + ["--help"])
      #expect(help.stdout.contains("--log-level <level>"), "\(command)")
      #expect(help.stdout.contains("--log-format <format>"), "\(command)")
    }
  }

  @Test func theSystemdUnitVerifies() async throws {
    let analyze = try #require(ExternalTool("systemd-analyze"), "systemd-analyze is not installed (Debian's systemd)")
    let folder = try makeTemporaryFolder(prefix: "ballast-unit")
    defer { try? FileManager.default.removeItem(at: folder) }
    let unit = try String(
      contentsOf: Repository.root.appendingPathComponent("contrib/ballast.service"), encoding: .utf8)
    #expect(unit.contains("ExecStart=/usr/local/bin/ballast balance --loop"))
    // verify checks that ExecStart's program exists: point it at the binary under test.
    try unit.replacingOccurrences(of: "/usr/local/bin/ballast", with: LoopProcess.executable.path).write(
      to: folder.appendingPathComponent("ballast.service"), atomically: true, encoding: .utf8)
    // Mode 0644 whatever the umask: tests of owner-only files set the process' umask to 0 for
    // a moment, and systemd warns about a world-writable unit.
    try FileManager.default.setAttributes(
      [.posixPermissions: 0o644], ofItemAtPath: folder.appendingPathComponent("ballast.service").path)
    let verify = try await analyze.run(["verify", "--man=no", "ballast.service"], in: folder)
    #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    #expect(verify.stderr.isEmpty && verify.stdout.isEmpty, "warnings: \(verify.stdout)\(verify.stderr)")
  }
}
