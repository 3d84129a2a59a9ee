import Foundation
import Testing

@testable import BallastDriverSupport

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

  @Test("a child that leaves a daemon holding its output returns when the child exits")
  func daemonKeepsOutputOpen() async throws {
    let started = ContinuousClock.now
    // The background process outlives any wait this test allows by far, so a busy machine
    // (seconds of scheduling delay) cannot make a correct runner look wrong.
    let output = try await ProcessRunner.run("/bin/sh", ["-c", "sleep 600 & echo $!"], timeout: 300)
    let daemon = try #require(Int32(output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    defer { kill(daemon, SIGKILL) }
    #expect(output.status == 0)
    #expect(started.duration(to: .now) < .seconds(120), "the wait lasted as long as the background process")
  }

  @Test("a command over its time limit is stopped and reported")
  func timeout() async throws {
    let started = ContinuousClock.now
    await #expect {
      _ = try await ProcessRunner.run("/bin/sh", ["-c", "echo waiting >&2; exec sleep 600"], timeout: 0.5)
    } throws: { error in
      "\(error)".contains("did not finish within 0s and was killed") && "\(error)".contains("waiting")
    }
    #expect(started.duration(to: .now) < .seconds(120), "the command ran on past its limit")
  }
}
