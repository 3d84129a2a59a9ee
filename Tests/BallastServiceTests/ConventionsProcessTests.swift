import BallastHistory
import BallastTestSupport
import Foundation
import Testing

/// The small conventions: --version, completions, the exit code of a busy cluster, --json on
/// generate, bench and lab.
@Suite("command-line conventions")
struct ConventionsProcessTests {
  let ballast = ExternalTool(path: LoopProcess.executable.path)

  @Test func versionAndCompletions() async throws {
    let version = try await ballast.run(["--version"])
    #expect(version.status == 0)
    #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    for shell in ["bash", "zsh", "fish"] {
      let script = try await ballast.run(["--generate-completion-script", shell])
      #expect(script.status == 0 && script.stdout.contains("ballast") && script.stdout.contains("balance"), "\(shell)")
    }
    let help = try await ballast.run(["--help"])
    #expect(help.stdout.contains("75") && help.stdout.contains("lease"), "the exit codes are not in --help")
  }

  @Test(.timeLimit(.minutes(1)))
  func aBusyClusterExits75SoCronCanTellBusyFromFailed() async throws {
    let folder = try LoopProcess.workspace()
    defer { try? FileManager.default.removeItem(at: folder) }
    let store = try HistoryStore(path: folder.appendingPathComponent("h.sqlite").path)
    let elsewhere = LeaseHolder(id: "balance --loop pid 7 on node-b #1", pid: 7, hostname: "node-b")
    let lease = try await store.acquireLease(cluster: "demo", holder: elsewhere, duration: 30)
    for command in [["balance"], ["migrate", "web-1", "--to", "h4", "--json"], ["drain", "h5", "--json"]] {
      let busy = try await ballast.run(command + LoopProcess.files, in: folder)
      try #require(Date().timeIntervalSince1970 < lease.expiresAt, "the machine was too busy to test in time")
      #expect(busy.status == 75, "\(command): \(busy.status) \(busy.stdout) \(busy.stderr)")
      #expect(busy.stdout.contains("node-b") || busy.stderr.contains("node-b"), "\(command) does not say who")
    }
    #expect(try await store.migrations().isEmpty)
    try await store.releaseLease(lease)
    let failed = try await ballast.run(["migrate", "nosuchvm", "--to", "h4"] + LoopProcess.files, in: folder)
    #expect(failed.status == 1, "a failure is not busy: \(failed.stderr)")
  }

  @Test func generateBenchAndLabPrintJSON() async throws {
    let folder = try makeTemporaryFolder(prefix: "ballast-json")
    defer { try? FileManager.default.removeItem(at: folder) }
    let generated = try await ballast.run(
      ["generate", "--hosts", "4", "--vms", "30", "--seed", "3", "-o", "g.yaml", "--traces", "traces", "--json"],
      in: folder)
    #expect(generated.status == 0, "\(generated.stderr)")
    #expect(generated.stderr.isEmpty, "notes on standard error with --json: \(generated.stderr)")
    let written = try HTTP.Answer(status: 0, body: generated.stdout).json()
    #expect(written["output"] as? String == "g.yaml" && written["hosts"] as? Int == 4)
    #expect(written["vms"] as? Int == 30 && written["seed"] as? Int == 3 && (written["traceFiles"] as? Int ?? 0) > 0)
    let noOutput = try await ballast.run(["generate", "--hosts", "2", "--vms", "2", "--json"], in: folder)
    #expect(noOutput.status == 64 && noOutput.stderr.contains("add --output FILE"))

    let bench = try await ballast.run(["bench", "--sizes", "5x20,8x40", "--json"], in: folder)
    #expect(bench.status == 0, "\(bench.stderr)")
    let figures = try HTTP.Answer(status: 0, body: bench.stdout).json()
    let sizes = try #require(figures["sizes"] as? [[String: Any]])
    #expect(sizes.map { $0["hosts"] as? Int } == [5, 8])
    #expect(sizes.allSatisfy { ($0["balancePlanMs"] as? Double ?? -1) >= 0 && $0["drainedHost"] is String })
    #expect(figures["policy"] as? String == "balanced")

    try FileManager.default.copyItem(
      at: Repository.root.appendingPathComponent("clusters/lab.yaml"), to: folder.appendingPathComponent("lab.yaml"))
    let down = try await ballast.run(["lab", "down", "--cluster", "lab.yaml", "--json"], in: folder)
    #expect(down.status == 0, "\(down.stderr)")
    let lab = try HTTP.Answer(status: 0, body: down.stdout).json()
    #expect(lab["state"] as? String == "down" && lab["cluster"] as? String == "lab" && lab["root"] is String)
  }
}
