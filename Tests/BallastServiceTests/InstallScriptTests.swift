import BallastTestSupport
import Foundation
import Testing

/// `scripts/install.sh` staging an installation (`--destdir`) of the binary under test: where
/// everything goes, and that an operator's configuration survives a reinstall. (Building in
/// release and generating the man pages need SwiftPM, which `swift test` holds: `--binary`
/// skips both here.)
@Suite("scripts/install.sh")
struct InstallScriptTests {
  let script = Repository.root.appendingPathComponent("scripts/install.sh").path

  func install(_ arguments: [String]) async throws -> ExternalTool.Result {
    try await ExternalTool(path: "/bin/bash").run(
      [script, "--binary", LoopProcess.executable.path] + arguments, in: Repository.root)
  }

  @Test func itStagesTheBinaryCompletionsUnitAndConfigurationUnderThePrefix() async throws {
    let stage = try makeTemporaryFolder(prefix: "ballast-stage")
    defer { try? FileManager.default.removeItem(at: stage) }
    let first = try await install(["--destdir", stage.path, "--prefix", "/opt/ballast"])
    #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
    func staged(_ path: String) -> String { stage.path + path }
    for path in [
      "/opt/ballast/bin/ballast", "/opt/ballast/share/bash-completion/completions/ballast",
      "/opt/ballast/share/zsh/site-functions/_ballast", "/opt/ballast/share/fish/vendor_completions.d/ballast.fish",
      "/opt/ballast/lib/systemd/system/ballast.service", "/etc/ballast/cluster.yaml.example",
      "/etc/ballast/policy.yaml.example", "/etc/ballast/policy.yaml",
    ] {
      #expect(FileManager.default.fileExists(atPath: staged(path)), "\(path) missing")
    }
    #expect(FileManager.default.isExecutableFile(atPath: staged("/opt/ballast/bin/ballast")))
    let version = try await ExternalTool(path: staged("/opt/ballast/bin/ballast")).run(["--version"])
    #expect(version.status == 0)
    let completion = try String(
      contentsOfFile: staged("/opt/ballast/share/zsh/site-functions/_ballast"), encoding: .utf8)
    #expect(completion.contains("#compdef ballast"))
    let unit = try String(contentsOfFile: staged("/opt/ballast/lib/systemd/system/ballast.service"), encoding: .utf8)
    #expect(unit.contains("ExecStart=/opt/ballast/bin/ballast balance --loop"))
    #expect(!unit.contains("/usr/local/bin"))
    #expect(first.stdout.contains("systemctl link /opt/ballast/lib/systemd/system/ballast.service"))
    #expect(first.stdout.contains("no man pages installed"))

    // A reinstall keeps the operator's policy and refreshes the examples.
    try "name: mine\n".write(toFile: staged("/etc/ballast/policy.yaml"), atomically: true, encoding: .utf8)
    let second = try await install(["--destdir", stage.path, "--prefix", "/opt/ballast"])
    #expect(second.status == 0, "\(second.stderr)")
    #expect(try String(contentsOfFile: staged("/etc/ballast/policy.yaml"), encoding: .utf8) == "name: mine\n")
    #expect(!FileManager.default.fileExists(atPath: staged("/etc/ballast/cluster.yaml")))
  }

  @Test func manPagesComeFromTheGivenFolderAndBadOptionsAreUsageErrors() async throws {
    let stage = try makeTemporaryFolder(prefix: "ballast-stage")
    defer { try? FileManager.default.removeItem(at: stage) }
    let pages = stage.appendingPathComponent("pages")
    try FileManager.default.createDirectory(at: pages, withIntermediateDirectories: true)
    try ".Dt BALLAST 1\n".write(to: pages.appendingPathComponent("ballast.1"), atomically: true, encoding: .utf8)
    let installed = try await install(["--destdir", stage.appendingPathComponent("root").path, "--man-dir", pages.path])
    #expect(installed.status == 0, "\(installed.stderr)")
    #expect(FileManager.default.fileExists(atPath: stage.path + "/root/usr/local/share/man/man1/ballast.1"))
    #expect(!installed.stdout.contains("systemctl link"), "systemd reads /usr/local/lib/systemd/system")

    #expect(try await install(["--prefix", "relative/path"]).status == 64)
    #expect(try await install(["--frobnicate"]).status == 64)
  }
}
