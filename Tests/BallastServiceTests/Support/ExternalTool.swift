import Foundation

/// A program the tests run from Debian's packages (`promtool`, `prometheus`, `chromium`).
struct ExternalTool {
  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  let path: String

  /// The program named `name` on `$PATH`, or `nil` when it is not installed.
  init?(_ name: String) {
    let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    guard
      let found = directories.map({ "\($0)/\(name)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }
      )
    else { return nil }
    path = found
  }

  init(path: String) { self.path = path }

  /// Runs it with `arguments`, `input` on standard input, and waits for it on a thread of its
  /// own (Foundation's wait blocks).
  func run(
    _ arguments: [String], input: String = "", in folder: URL? = nil, environment: [String: String] = [:]
  ) async throws -> Result {
    let path = self.path
    return try await withCheckedThrowingContinuation { continuation in
      Thread {
        continuation.resume(
          with: Swift.Result {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            if let folder { process.currentDirectoryURL = folder }
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            let stdin = Pipe()
            let stdout = Pipe()
            let stderr = Pipe()
            process.standardInput = stdin
            process.standardOutput = stdout
            process.standardError = stderr
            try process.run()
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
            let out = stdout.fileHandleForReading.readDataToEndOfFile()
            let err = stderr.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Result(
              status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
              stderr: String(decoding: err, as: UTF8.self))
          })
      }.start()
    }
  }

  /// `promtool check metrics` on `text`: nil when it passes, else what it says.
  static func promtoolProblems(_ text: String) async throws -> String? {
    guard let promtool = ExternalTool("promtool") else {
      return "promtool is not installed (Debian's prometheus package; .ci/run installs it)"
    }
    let result = try await promtool.run(["check", "metrics"], input: text)
    return result.status == 0 ? nil : "promtool exit \(result.status): \(result.stdout)\(result.stderr)"
  }
}
