import Foundation
import Testing

@testable import BallastQEMU

@Suite("Running external commands")
struct ProcessRunnerTests {
  @Test("a child inherits no descriptor but its standard ones (a daemon would hold them for life)")
  func noInheritedDescriptors() async throws {
    var fds: [Int32] = [0, 0]
    try #require(pipe(&fds) == 0)
    defer { for fd in fds { close(fd) } }
    let check = fds.map { "test -e /proc/$$/fd/\($0) && echo leaked \($0)" }.joined(separator: "; ")
    let output = try await ProcessRunner.run("/bin/sh", ["-c", check + "; echo checked"])
    #expect(output.standardOutput == "checked\n", "the child still holds: \(output.standardOutput)")
  }

  @Test("output, exit status and a missing command")
  func outputAndStatus() async throws {
    let output = try await ProcessRunner.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
    #expect(output == ProcessOutput(status: 3, standardOutput: "out\n", standardError: "err\n"))
    await #expect(throws: ProcessRunnerError.self) { try await ProcessRunner.run("no-such-command-here", []) }
  }
}
