import BallastTestSupport
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A program the test starts in the background, its output going to files: ``stop()`` ends it
/// and every process it started, by its id, also when the test fails.
///
/// Foundation's `Process` starts each child as the leader of a process group of its own (its
/// group id is its pid; the initializer checks), so signalling `-pid` reaches the program and
/// the helpers it forked (a browser's renderers), and nothing else.
final class ChildProcess: @unchecked Sendable {
  let process = Process()
  let stdoutURL: URL
  let stderrURL: URL
  let name: String

  /// Starts `executable arguments…` in `folder`, adding `environment` to the test's own.
  init(
    _ executable: String, _ arguments: [String], in folder: URL, environment: [String: String] = [:],
    name: String? = nil
  ) throws {
    self.name = name ?? URL(fileURLWithPath: executable).lastPathComponent
    stdoutURL = folder.appendingPathComponent("\(self.name).stdout.txt")
    stderrURL = folder.appendingPathComponent("\(self.name).stderr.txt")
    _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = folder
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
    process.standardError = try FileHandle(forWritingTo: stderrURL)
    try process.run()
    guard getpgid(process.processIdentifier) == process.processIdentifier else {
      process.terminate()
      throw HTTPTestError("\(self.name) is not the leader of its own process group: stopping it could reach others")
    }
  }

  var pid: Int32 { process.processIdentifier }
  var isRunning: Bool { process.isRunning }
  var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
  var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

  /// Sends `number` to the program itself.
  func signal(_ number: Int32) { kill(pid, number) }

  /// Waits up to `seconds` for `condition`, checking every 100 ms; false when time ran out.
  func wait(upTo seconds: Double, for condition: () async throws -> Bool) async rethrows -> Bool {
    try await eventually(timeout: seconds, condition)
  }

  /// Waits up to `seconds` for the program to exit by itself; its status, or nil if it did not.
  func exitStatus(within seconds: Double) async -> Int32? {
    guard await wait(upTo: seconds, for: { !process.isRunning }) else { return nil }
    return process.terminationStatus
  }

  /// Ends the program's whole process group: SIGTERM, then SIGKILL after `grace` seconds
  /// (and SIGKILL for what it left behind when it has exited already).
  func stop(grace: Double = 5) async {
    if process.isRunning {
      kill(-pid, SIGTERM)
      _ = await exitStatus(within: grace)
    }
    kill(-pid, SIGKILL)
    _ = await exitStatus(within: 5)
  }
}
