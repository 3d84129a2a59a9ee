import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What a finished command printed and how it exited.
public struct ProcessOutput: Sendable, Hashable {
  /// Exit status, or 128 + the signal that killed it.
  public var status: Int32
  public var standardOutput: String
  public var standardError: String
}

/// Runs an external command (`qemu-img`, `qemu-system-x86_64 -daemonize`, the guest build)
/// to completion, with a time limit.
///
/// Uses `posix_spawn` and `waitpid` directly: the child is reaped here, whatever else the
/// process does with SIGCHLD, and output goes to temporary files (no pipe can fill up, and a
/// daemon that keeps inherited descriptors open cannot block the wait).
public enum ProcessRunner {
  /// Runs `executable` (a path, or a name looked up on `PATH`) with `arguments`; kills it
  /// after `timeout` seconds. Throws ``ProcessRunnerError`` when it cannot start or runs too
  /// long; a non-zero exit is returned, not thrown (callers decide what it means).
  public static func run(
    _ executable: String, _ arguments: [String], timeout: TimeInterval = 120
  ) async throws
    -> ProcessOutput
  {
    try await BlockingWork.run("process-runner") {
      try runBlocking(executable, arguments, timeout: timeout)
    }
  }

  private static func runBlocking(
    _ executable: String, _ arguments: [String], timeout: TimeInterval
  ) throws
    -> ProcessOutput
  {
    let commandLine = ([executable] + arguments).joined(separator: " ")
    guard let resolved = which(executable) else {
      throw ProcessRunnerError(command: commandLine, message: "\(executable) not found on PATH; is it installed?")
    }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outPath = scratch.appendingPathComponent("stdout").path
    let errPath = scratch.appendingPathComponent("stderr").path

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    closeInheritedDescriptors(&actions)

    let argv: [UnsafeMutablePointer<CChar>?] = ([resolved] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, resolved, &actions, nil, argv, environ)
    guard spawned == 0 else {
      throw ProcessRunnerError(
        command: commandLine, message: "cannot start \(resolved): \(String(cString: strerror(spawned)))")
    }

    let deadline = Date().addingTimeInterval(timeout)
    var status: Int32 = 0
    var timedOut = false
    while true {
      let result = waitpid(pid, &status, WNOHANG)
      if result == pid { break }
      if result < 0 && errno != EINTR {
        throw ProcessRunnerError(command: commandLine, message: "waitpid failed: \(String(cString: strerror(errno)))")
      }
      if !timedOut && Date() >= deadline {
        timedOut = true
        kill(pid, SIGKILL)
      }
      usleep(5000)
    }
    let output = ProcessOutput(
      status: exitCode(status),
      standardOutput: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
      standardError: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    if timedOut {
      throw ProcessRunnerError(
        command: commandLine,
        message: "did not finish within \(Int(timeout))s and was killed; stderr: \(output.standardError.suffix(400))")
    }
    return output
  }

  /// Makes the child close every descriptor above 2. A daemon (`qemu -daemonize`) keeps what it
  /// inherits for its whole life: a pipe Ballast's caller reads until end of file (that caller
  /// would wait forever), the history database, sockets.
  private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    #if canImport(Glibc)
      // glibc 2.34+; not in the Swift overlay, so looked up at run time.
      typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
      if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np"),
        unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3) == 0
      {
        return
      }
    #endif
    // Older C libraries: mark this process's descriptors close-on-exec instead (Ballast never
    // hands a descriptor to a child on purpose).
    let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    for fd in open.compactMap({ Int32($0) }) where fd > 2 {
      let flags = fcntl(fd, F_GETFD)
      if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }
  }

  /// The exit code of a `waitpid` status, or 128 + signal number.
  private static func exitCode(_ status: Int32) -> Int32 {
    let signal = status & 0x7F
    return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
  }

  /// The full path of `name` found on `PATH` (or `name` itself when it is a path), or `nil`.
  static func which(_ name: String) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for dir in path.split(separator: ":") {
      let candidate = "\(dir)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }
}

/// A command that could not run or did not finish in time.
public struct ProcessRunnerError: Error, Sendable, Hashable, CustomStringConvertible {
  public var command: String
  public var message: String
  public var description: String { "\(message) (command: \(command))" }
}
