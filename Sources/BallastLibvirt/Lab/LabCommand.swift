import BallastDriverSupport
import Foundation

/// Runs the lab's setup commands (`useradd`, `unshare … libvirtd --daemon`, `qemu-img`) to
/// completion, through the drivers' process runner: the child is reaped whatever else the
/// process does with SIGCHLD, and a daemon keeping its descriptors cannot block the wait.
enum LabCommand {
  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// Runs `executable` with `arguments` (no shell); throws with its standard error when it
  /// exits non-zero. Returns the exit status.
  @discardableResult
  static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60) async throws -> Int32 {
    let output = try await ProcessRunner.run(executable, arguments, timeout: timeout)
    guard output.status == 0 else {
      throw Failure(
        description: "\(executable) \(arguments.joined(separator: " ")) exited with \(output.status): "
          + (output.standardError + output.standardOutput).trimmingCharacters(in: .whitespacesAndNewlines)
          .suffix(600))
    }
    return output.status
  }

  /// The first of `candidates` that exists and is executable.
  static func find(_ name: String, in candidates: [String] = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]) -> String? {
    candidates.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
  }
}
