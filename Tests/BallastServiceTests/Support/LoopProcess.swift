import BallastTestSupport
import Foundation

/// `ballast balance --loop --listen 127.0.0.1:0 …` running in a folder of its own, with the
/// demo cluster and a policy that acts at once, every second.
final class LoopProcess: Sendable {
  let folder: URL
  let child: ChildProcess

  /// The `ballast` binary next to the test bundle (SwiftPM builds it before the tests).
  static var executable: URL { BallastProcess.executable }

  /// The files every run uses: the cluster, the policy, the history and the simulated state.
  static let files = ["--cluster", "demo.yaml", "--policy", "fast.yaml", "--db", "h.sqlite", "--state", "state.json"]

  /// A fresh folder with `clusters/demo.yaml` and a policy acting at once (`policy` adds keys).
  static func workspace(policy extra: String = "") throws -> URL {
    let folder = try makeTemporaryFolder(prefix: "ballast-service")
    try FileManager.default.copyItem(
      at: Repository.root.appendingPathComponent("clusters/demo.yaml"), to: folder.appendingPathComponent("demo.yaml"))
    try "name: fast\nholdFor: 0s\nmonitor: {interval: 1s}\n\(extra)".write(
      to: folder.appendingPathComponent("fast.yaml"), atomically: true, encoding: .utf8)
    return folder
  }

  /// Starts the loop on the demo cluster at `pace` with `--listen` (unless `listen` is nil).
  /// `name` names its output files (several loops may share a folder); `files` replaces ``files``.
  init(
    folder: URL, pace: Double = 20, listen: String? = "127.0.0.1:0", extra: [String] = [],
    environment: [String: String] = [:], name: String = "ballast", files: [String] = LoopProcess.files
  ) throws {
    self.folder = folder
    var arguments = ["balance", "--loop"] + files + ["--interval", "1s", "--pace", "\(pace)", "--json"]
    if let listen { arguments += ["--listen", listen] }
    child = try ChildProcess(
      Self.executable.path, arguments + extra, in: folder, environment: environment, name: name)
  }

  /// The port the loop logged it listens on; throws when it did not within `seconds`.
  func port(within seconds: Double = 60) async throws -> Int {
    var found: Int?
    _ = await child.wait(upTo: seconds) {
      found = Self.port(in: child.stderr)
      return found != nil || !child.isRunning
    }
    guard let found else { throw HTTPTestError("the loop did not say where it listens:\n\(child.stderr)") }
    return found
  }

  static func port(in log: String) -> Int? {
    guard let range = log.range(of: "listening on http://") else { return nil }
    let address = log[range.upperBound...].prefix { $0 != "/" }
    return address.split(separator: ":").last.flatMap { Int($0) }
  }

  /// `GET path` on the loop's endpoint.
  func get(_ path: String, port: Int) async throws -> HTTP.Answer {
    try await HTTP.request("http://127.0.0.1:\(port)\(path)")
  }

  /// Runs `ballast arguments…` in the loop's folder and waits for it.
  func ballast(_ arguments: [String]) async throws -> ExternalTool.Result {
    try await ExternalTool(path: Self.executable.path).run(arguments, in: folder)
  }

  /// Stops the loop (and anything it left) and removes its folder.
  func tearDown() async {
    await child.stop()
    try? FileManager.default.removeItem(at: folder)
  }
}
