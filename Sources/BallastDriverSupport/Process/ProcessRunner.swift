import Foundation
import Subprocess

#if canImport(System)
  import System
#else
  import SystemPackage
#endif

/// What a finished command printed and how it exited.
public struct ProcessOutput: Sendable, Hashable {
  /// Exit status, or 128 + the signal that killed it.
  public var status: Int32
  public var standardOutput: String
  public var standardError: String

  public init(status: Int32, standardOutput: String, standardError: String) {
    self.status = status
    self.standardOutput = standardOutput
    self.standardError = standardError
  }
}

/// Runs an external command (`qemu-img`, `qemu-system-x86_64 -daemonize`, the guest build)
/// to completion, with a time limit, through swift-subprocess.
///
/// The child inherits no descriptor above 2 (a daemon keeps what it inherits for its whole
/// life: a pipe Ballast's caller reads until end of file, the history database, sockets);
/// its standard input is `/dev/null`. Its output goes to files, not pipes, read once it has
/// exited: no pipe can fill up, and a daemon that forks and keeps the descriptors open
/// (`qemu -daemonize`) cannot make the wait last longer than the command itself.
public enum ProcessRunner {
  /// Runs `executable` (a path, or a name looked up on `PATH`) with `arguments`. After
  /// `timeout` seconds it is asked to stop (SIGTERM) and killed (SIGKILL) 2 seconds later if it
  /// has not. A non-zero exit is returned, not thrown: callers decide what it means.
  /// - Throws: ``ProcessRunnerError`` when the command cannot start or runs too long.
  public static func run(
    _ executable: String, _ arguments: [String], timeout: TimeInterval = 120
  ) async throws
    -> ProcessOutput
  {
    let commandLine = ([executable] + arguments).joined(separator: " ")
    let outputs = try OutputFiles(command: commandLine)
    defer { outputs.remove() }
    var options = PlatformOptions()
    options.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: .seconds(2))]
    let configuration = Configuration(
      executable: executable.contains("/") ? .path(FilePath(executable)) : .name(executable),
      arguments: Arguments(arguments), platformOptions: options)

    let outcome: Outcome
    do {
      outcome = try await withThrowingTaskGroup(of: Outcome.self) { group in
        group.addTask {
          let result = try await Subprocess.run(
            configuration, input: .none,
            output: .fileDescriptor(outputs.standardOutput, closeAfterSpawningProcess: false),
            error: .fileDescriptor(outputs.standardError, closeAfterSpawningProcess: false))
          return .exited(result.terminationStatus)
        }
        group.addTask {
          try await Task.sleep(for: .milliseconds(Int64(max(timeout, 0) * 1000)))
          return .timedOut
        }
        defer { group.cancelAll() }  // the other child: a sleep, or the command (torn down)
        return try await group.next() ?? .timedOut
      }
    } catch let error as SubprocessError {
      let message =
        error.code == .executableNotFound
        ? "\(executable) not found on PATH; is it installed?" : "cannot start \(executable): \(error)"
      throw ProcessRunnerError(command: commandLine, message: message)
    }
    switch outcome {
    case .exited(let status):
      return ProcessOutput(
        status: Self.exitCode(status), standardOutput: outputs.read(outputs.standardOutputPath),
        standardError: outputs.read(outputs.standardErrorPath))
    case .timedOut:
      throw ProcessRunnerError(
        command: commandLine,
        message:
          "did not finish within \(Int(timeout))s and was killed; stderr: \(outputs.read(outputs.standardErrorPath).suffix(400))"
      )
    }
  }

  private enum Outcome: Sendable {
    case exited(TerminationStatus)
    case timedOut
  }

  /// The exit code, or 128 + signal number.
  private static func exitCode(_ status: TerminationStatus) -> Int32 {
    switch status {
    case .exited(let code): code
    case .signaled(let signal): 128 + signal
    }
  }

  /// The full path of `name` found on `PATH` (or `name` itself when it is a path), or `nil`:
  /// whether a tool is installed (``run(_:_:timeout:)`` looks it up the same way).
  public static func which(_ name: String) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for dir in path.split(separator: ":") where dir.hasPrefix("/") {
      let candidate = "\(dir)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }
}

/// A command's standard output and error files, in a folder of their own made for it
/// (`mkdtemp`, owner-only) and removed after.
private struct OutputFiles: Sendable {
  let folder: String
  let standardOutput: FileDescriptor
  let standardError: FileDescriptor

  var standardOutputPath: String { folder + "/stdout" }
  var standardErrorPath: String { folder + "/stderr" }

  init(command: String) throws {
    var template = Array((FileManager.default.temporaryDirectory.path + "/ballast-run-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else {
      throw ProcessRunnerError(
        command: command, message: "cannot make a folder for its output: \(String(cString: strerror(errno)))")
    }
    folder = String(cString: made)
    do {
      standardOutput = try Self.create(folder + "/stdout")
      do {
        standardError = try Self.create(folder + "/stderr")
      } catch {
        try? standardOutput.close()
        throw error
      }
    } catch {
      try? FileManager.default.removeItem(atPath: folder)
      throw ProcessRunnerError(command: command, message: "cannot create its output files in \(folder): \(error)")
    }
  }

  private static func create(_ path: String) throws -> FileDescriptor {
    try FileDescriptor.open(
      FilePath(path), .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec],
      permissions: [.ownerReadWrite])
  }

  func read(_ path: String) -> String {
    (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
  }

  func remove() {
    try? standardOutput.close()
    try? standardError.close()
    try? FileManager.default.removeItem(atPath: folder)
  }
}

/// A command that could not run or did not finish in time.
public struct ProcessRunnerError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The command line, as run.
  public var command: String
  /// What went wrong, for a person.
  public var message: String
  public var description: String { "\(message) (command: \(command))" }
}
