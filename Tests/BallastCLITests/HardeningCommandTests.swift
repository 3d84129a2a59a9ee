import BallastEngine
import BallastHistory
import BallastModel
import BallastTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 11 end to end: flags out of range are usage errors with the range; failures found at
/// run time are runtime failures (exit 1), not usage errors; a damaged journal stops the
/// commands that move VMs; reading history needs no write access.
@Suite("Hardening (end to end)")
struct HardeningCommandTests {
  static let demo = ["--cluster", "clusters/demo.yaml"]

  @Test(
    arguments: [
      (["balance", "--loop", "--pace", "nan"] + demo, "--pace", "from 0.01 to 100000"),
      (["balance", "--loop", "--pace", "inf"] + demo, "--pace", "from 0.01"),
      (["drain", "h1", "--pace", "0"] + demo, "--pace", "from 0.01"),
      (["balance", "--loop", "--interval", "0.0001ms"] + demo, "--interval", "from 1s to 1d"),
      (["balance", "--loop", "--interval", String(repeating: "9", count: 400) + "s"] + demo, "--interval", "from 1s"),
      (["simulate", "--step", "1ms"] + demo, "--step", "from 1s to 1d"),
      (["simulate", "--duration", "1e400h"] + demo, "--duration", "expected a time"),
      (["generate", "--hosts", "99999999999", "--vms", "1"], "--hosts", "from 1 to 100000"),
      (["bench", "--sizes", "10x99999999999"], "--sizes", "from 0 to 2000000"),
      (["history", "--limit", "0"], "--limit", "from 1"),
    ] as [([String], String, String)])
  func flagsOutOfRangeAreUsageErrorsWithTheRange(arguments: [String], flag: String, range: String) async throws {
    let result = try await BallastProcess.running(arguments)
    #expect(result.status == 64, "\(arguments): \(result.stderr)")
    #expect(result.stderr.contains(flag) && result.stderr.contains(range), "\(result.stderr)")
  }

  @Test func aPolicyIntervalOfOneMillisecondIsRefusedAtItsLine() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let policy = folder.appendingPathComponent("fast.yaml")
    try "name: fast\nmonitor:\n  interval: 1ms\n".write(to: policy, atomically: true, encoding: .utf8)
    let result = try await BallastProcess.running(["balance", "--loop", "--policy", policy.path] + Self.demo)
    #expect(result.status == 1)
    #expect(result.stderr.contains("fast.yaml:3:") && result.stderr.contains("from 1s to 1d"), "\(result.stderr)")
  }

  @Test func showingAMigrationAnEmptyHistoryDoesNotHaveIsARuntimeFailure() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("empty.sqlite").path
    _ = try HistoryStore(path: path)
    let result = try await BallastProcess.running(["history", "show", "5", "--db", path])
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stderr.contains("no migration 5"))
    #expect(!result.stderr.contains("Usage:"))
  }

  /// A database with garbage over pages in its middle.
  static func damagedDatabase(in folder: URL) async throws -> String {
    let path = folder.appendingPathComponent("damaged.sqlite").path
    do {
      let store = try HistoryStore(path: path)
      try await store.recordHostSamples(
        (0..<20_000).map { HostSample(cluster: "other", host: "h\($0 % 50)", at: Double($0), cpu: 0.5, memory: 0.5) })
    }
    // Close every connection (the checkpoint empties the WAL into the file), then damage it.
    do {
      let store = try HistoryStore(path: path)
      _ = try await store.hostSamples(cluster: "none")
    }
    let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    let handle = try #require(FileHandle(forUpdatingAtPath: path))
    try handle.seek(toOffset: UInt64(size / 2 / 4096 * 4096))
    try handle.write(contentsOf: Data((0..<(3 * 4096)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }))
    try handle.close()
    return path
  }

  @Test(arguments: [
    ["drain", "h1"], ["migrate", "web-1", "--to", "h4"], ["balance", "--once"], ["balance"], ["reconcile"],
    ["activate", "h1"], ["plan", "--execute"],
  ])
  func commandsThatMoveVMsRefuseADamagedJournal(command: [String]) async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = try await Self.damagedDatabase(in: folder)
    let before = try Data(contentsOf: URL(fileURLWithPath: path))
    let result = try await BallastProcess.running(command + Self.demo + ["--db", path])
    #expect(result.status == 1, "\(command): \(result.stdout) \(result.stderr)")
    #expect(result.stderr.contains("damaged") && result.stderr.contains(".recover"), "\(result.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "nothing was written to it")
  }

  /// Another user's history (mode 0644 in a folder only its owner may write) is read without
  /// writing to it. Run as `nobody` when the tests run as root; otherwise the file is made 0444.
  @Test func historyReadsADatabaseThisUserMayNotWrite() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("theirs.sqlite").path
    do {
      let store = try HistoryStore(path: path)
      let move = PlannedMove(
        vm: "web1", from: "h1", to: "h2", kind: .live, reason: "test",
        predicted: PredictedCost(seconds: 1, downtimeMs: 1, bytes: 1, rounds: 1, converges: true))
      let view = ClusterView(imbalance: 0.1, hosts: [])
      let plan = try await store.recordPlan(
        MigrationPlan(
          trigger: .manual, cluster: "c", policy: "p", moves: [move], rejected: [], before: view, after: view),
        dryRun: false, at: 1_767_225_600)
      _ = try await store.moveStarted(plan: plan, index: 0, move: move, at: 1_767_225_600)
    }
    chmod(folder.path, 0o755)
    let arguments: [String]
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
    if geteuid() == 0 {
      let tool = try #require(setpriv, "running as root needs setpriv (util-linux) to read as another user")
      chmod(path, 0o644)
      arguments = [
        tool, "--reuid=65534", "--regid=65534", "--clear-groups", BallastProcess.executable.path, "history",
        "--db", path, "--planned",
      ]
    } else {
      chmod(path, 0o444)
      arguments = [BallastProcess.executable.path, "history", "--db", path, "--planned"]
    }
    // On a thread of its own: waiting for the process must not hold one of the shared threads.
    let (status, stdout, stderr) = try await withCheckedThrowingContinuation { continuation in
      Thread {
        continuation.resume(
          with: Result {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: arguments[0])
            process.arguments = Array(arguments.dropFirst())
            process.currentDirectoryURL = URL(fileURLWithPath: "/")
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, stdout, stderr)
          })
      }.start()
    }
    #expect(status == 0, "\(stderr)")
    #expect(stdout.contains("web1"), "\(stdout)")
    #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "reading created no file")
  }

  @Test func aDatabaseBehindASymlinkToNowhereIsOwnerOnly() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let link = folder.appendingPathComponent("link.sqlite").path
    let target = folder.appendingPathComponent("target.sqlite").path
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    let result = try await BallastProcess.running(["balance", "--dry-run", "--db", link] + Self.demo)
    #expect(result.status == 0, "\(result.stderr)")
    let mode = try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int
    #expect(mode == 0o600)
  }

  @Test func theStateFileIsOwnerOnlyWhateverTheUmask() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let state = folder.appendingPathComponent("state.json").path
    let db = folder.appendingPathComponent("h.sqlite").path
    let previous = umask(0)
    let result = try await BallastProcess.running(["drain", "h5", "--state", state, "--db", db] + Self.demo)
    umask(previous)
    #expect(result.status == 0, "\(result.stderr)")
    let mode = try FileManager.default.attributesOfItem(atPath: state)[.posixPermissions] as? Int
    #expect(mode == 0o600)
  }

  /// One tampering of a saved state file, and what the refusal must say.
  struct Tampering: Sendable, CustomTestStringConvertible {
    var name: String
    var reason: String
    var edit: @Sendable (inout [String: Any]) -> Void
    var testDescription: String { name }
  }

  static let tamperings: [Tampering] = [
    Tampering(name: "another cluster", reason: "made for cluster 'other'") { state in
      var cluster = state["cluster"] as? [String: Any] ?? [:]
      cluster["name"] = "other"
      state["cluster"] = cluster
    },
    Tampering(name: "a VM running on two hosts", reason: "runs on h1 and h2") { state in
      var instances = state["instances"] as? [String: Any] ?? [:]
      var web = instances["web-1"] as? [[String: Any]] ?? []
      web.append(["host": "h2", "state": "running", "owner": false, "checksum": ""])
      instances["web-1"] = web
      state["instances"] = instances
    },
    Tampering(name: "a clock at 1e308", reason: "clock time") { state in state["clockTime"] = 1e308 },
    Tampering(name: "a VM on an unknown host", reason: "unknown host 'h9'") { state in
      var instances = state["instances"] as? [String: Any] ?? [:]
      instances["web-1"] = [["host": "h9", "state": "running", "owner": true, "checksum": ""]]
      state["instances"] = instances
    },
  ]

  @Test(arguments: tamperings)
  func aTamperedStateFileIsRefusedWithWhy(tampering: Tampering) async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let state = folder.appendingPathComponent("state.json").path
    let db = folder.appendingPathComponent("h.sqlite").path
    let made = try await BallastProcess.running(["activate", "h5", "--state", state, "--db", db] + Self.demo)
    #expect(made.status == 0, "\(made.stderr)")
    var json = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: state))) as? [String: Any])
    tampering.edit(&json)
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: state))
    for command in [["status"], ["drain", "h2", "--db", db]] {
      let result = try await BallastProcess.running(command + ["--state", state] + Self.demo)
      #expect(result.status == 1, "\(command): \(result.stdout)")
      #expect(result.stderr.contains(tampering.reason), "\(command): \(result.stderr)")
      #expect(result.stderr.contains("does not match cluster demo"))
    }
  }

  /// A policy reloaded by SIGHUP goes through the same checks: out of range, it is refused and
  /// the loop keeps running with the old one.
  @Test(.timeLimit(.minutes(2)))
  func aReloadedPolicyOutOfRangeIsRefusedAndTheLoopKeepsRunning() async throws {
    let folder = try LoopProcessTests.workspace(policy: "threshold: 0.9\n")
    defer { try? FileManager.default.removeItem(at: folder) }
    let loop = try BallastProcess.Background(LoopProcessTests.loopArguments, in: folder)
    #expect(await loop.wait(upTo: 60) { loop.stdout.contains("threshold 0.900") }, "\(loop.stderr)")
    try
      "name: huge\nholdFor: 1000000000000000000000000000000d\nbandwidthCap: 1\(String(repeating: "0", count: 30))Gbit/s\n"
      .write(to: folder.appendingPathComponent("fast.yaml"), atomically: true, encoding: .utf8)
    loop.signal(SIGHUP)
    #expect(await loop.wait(upTo: 30) { loop.stderr.contains("keeping the current policy") }, "\(loop.stderr)")
    #expect(loop.stderr.contains("fast.yaml:2:") && loop.stderr.contains("fast.yaml:3:"))
    let rounds = loop.stdout.components(separatedBy: "\n").count
    #expect(await loop.wait(upTo: 30) { loop.stdout.components(separatedBy: "\n").count > rounds + 1 })
    loop.signal(SIGTERM)
    #expect(await loop.waitForExit(upTo: 30) == 0)
  }
}
