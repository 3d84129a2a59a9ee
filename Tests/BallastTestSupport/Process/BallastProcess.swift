import Foundation

/// Runs the built `ballast` executable the way an operator would, capturing its output.
public struct BallastProcess {
  /// How a run ended and what it printed.
  public struct Result {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
      self.status = status
      self.stdout = stdout
      self.stderr = stderr
    }
  }

  /// The `ballast` binary next to the test bundle (SwiftPM builds it before the tests).
  public static var executable: URL {
    let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return testBinary.deletingLastPathComponent().appendingPathComponent("ballast")
  }

  /// The repository root, where `clusters/` and `policies/` are.
  public static var repositoryRoot: URL { Repository.root }

  /// Runs `ballast arguments…` in the repository root and waits for it.
  ///
  /// Commands that move VMs record in `./ballast.sqlite` unless told otherwise: run in the
  /// repository root without `--db`, each run gets a history database of its own (removed after).
  ///
  /// `umask`: the file-mode mask the command runs under (set by a shell that then becomes the
  /// command), leaving the test process' own mask, which every test shares, alone.
  public static func run(
    _ arguments: [String], in directory: URL = repositoryRoot, environment: [String: String] = [:],
    umask: mode_t? = nil
  ) throws -> Result {
    let process = Process()
    if let umask {
      process.executableURL = URL(fileURLWithPath: "/bin/sh")
      process.arguments =
        ["-c", "umask \(String(umask, radix: 8)) && exec \"$0\" \"$@\"", executable.path] + arguments
    } else {
      process.executableURL = executable
      process.arguments = arguments
    }
    process.currentDirectoryURL = directory
    var scratch: String?
    if directory == repositoryRoot, !arguments.contains("--db"), environment["BALLAST_DB"] == nil {
      scratch =
        FileManager.default.temporaryDirectory.appendingPathComponent("ballast-\(UUID().uuidString).sqlite").path
    }
    defer {
      for suffix in ["", "-wal", "-shm"] {
        try? scratch.map { try FileManager.default.removeItem(atPath: $0 + suffix) }
      }
    }
    process.environment = ProcessInfo.processInfo.environment.merging(
      environment.merging(scratch.map { ["BALLAST_DB": $0] } ?? [:]) { a, _ in a }
    ) { _, b in b }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
      stderr: String(decoding: stderr, as: UTF8.self))
  }

  /// ``run(_:in:environment:)`` on a thread of its own: waiting for the process does not hold
  /// one of the few threads every test's async code shares.
  public static func running(
    _ arguments: [String], in directory: URL = repositoryRoot, environment: [String: String] = [:],
    umask: mode_t? = nil
  ) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
      Thread {
        continuation.resume(
          with: Swift.Result { try run(arguments, in: directory, environment: environment, umask: umask) })
      }
      .start()
    }
  }

  /// A `ballast` process running in the background, its output going to files in `folder`.
  public final class Background {
    public let process = Process()
    public let stdoutURL: URL
    public let stderrURL: URL

    /// Starts `ballast arguments…` in `folder`; its output goes to `stdout.txt` and
    /// `stderr.txt` there, or `NAME-stdout.txt` and `NAME-stderr.txt` when several processes
    /// share the folder.
    public init(_ arguments: [String], in folder: URL, environment: [String: String] = [:], name: String? = nil) throws
    {
      let prefix = name.map { "\($0)-" } ?? ""
      stdoutURL = folder.appendingPathComponent("\(prefix)stdout.txt")
      stderrURL = folder.appendingPathComponent("\(prefix)stderr.txt")
      _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
      _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
      process.executableURL = BallastProcess.executable
      process.arguments = arguments
      process.currentDirectoryURL = folder
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, b in b }
      process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
      process.standardError = try FileHandle(forWritingTo: stderrURL)
      try process.run()
    }

    public var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits up to `seconds` for `condition`, checking every 100 ms.
    public func wait(upTo seconds: Double, for condition: () async throws -> Bool) async rethrows -> Bool {
      let deadline = Date().addingTimeInterval(seconds)
      while Date() < deadline {
        if try await condition() { return true }
        if !process.isRunning { return try await condition() }
        try? await Task.sleep(nanoseconds: 100_000_000)
      }
      return false
    }

    /// Waits up to `seconds` for the process to exit; kills it if it does not.
    public func waitForExit(upTo seconds: Double) async -> Int32? {
      let exited = await wait(upTo: seconds) { !process.isRunning }
      if !exited {
        process.terminate()
        return nil
      }
      return process.terminationStatus
    }
  }

  /// A fresh temporary folder, removed by the caller.
  public static func temporaryFolder() throws -> URL { try makeTemporaryFolder(prefix: "ballast-cli") }
}
