import Foundation

/// Runs the lab's setup commands (`useradd`, `unshare … libvirtd -d`, `qemu-img`) to completion.
/// Output goes to a file, never a pipe: a daemon that keeps its descriptors cannot block the wait.
enum LabCommand {
  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// Runs `executable` with `arguments` (no shell); throws with its standard error when it
  /// exits non-zero, unless `allowFailure`. Returns the exit status.
  @discardableResult
  static func run(_ executable: String, _ arguments: [String], allowFailure: Bool = false) async throws -> Int32 {
    try await Libvirt.run("running \(executable)") {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: executable)
      process.arguments = arguments
      let log = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-lab-\(UUID().uuidString).log")
      guard FileManager.default.createFile(atPath: log.path, contents: nil, attributes: [.posixPermissions: 0o600])
      else { throw Failure(description: "cannot create \(log.path)") }
      defer { try? FileManager.default.removeItem(at: log) }
      let output = try FileHandle(forWritingTo: log)
      defer { try? output.close() }
      process.standardInput = FileHandle.nullDevice
      process.standardOutput = output
      process.standardError = output
      try process.run()
      process.waitUntilExit()
      let status = process.terminationStatus
      if status != 0, !allowFailure {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw Failure(
          description: "\(executable) \(arguments.joined(separator: " ")) exited with \(status): "
            + text.trimmingCharacters(in: .whitespacesAndNewlines).suffix(600))
      }
      return status
    }
  }

  /// The first of `candidates` that exists and is executable.
  static func find(_ name: String, in candidates: [String] = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]) -> String? {
    candidates.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
  }
}
