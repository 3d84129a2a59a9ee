import BallastTestSupport
import Foundation
import Testing

/// `plan`, `drain --dry-run` and `bench`, run as an operator would.
@Suite("plan, drain, bench (end to end)")
struct PlanCommandsTests {
  static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

  /// Compares `text` with the golden file `name`; with BALLAST_UPDATE_GOLDEN=1 rewrites it instead.
  static func expectGolden(_ text: String, _ name: String) throws {
    let file = golden.appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["BALLAST_UPDATE_GOLDEN"] == "1" {
      try text.write(to: file, atomically: true, encoding: .utf8)
      return
    }
    let expected = try String(contentsOf: file, encoding: .utf8)
    #expect(text == expected, "output differs from Golden/\(name); rerun with BALLAST_UPDATE_GOLDEN=1 if intended")
  }

  @Test("plan --json on the demo cluster matches the golden file")
  func planGolden() throws {
    let result = try BallastProcess.run(["plan", "--cluster", "clusters/demo.yaml", "--json", "--no-timing"])
    #expect(result.status == 0, "\(result.stderr)")
    try Self.expectGolden(result.stdout, "plan-demo.json")
  }

  @Test("plan text on the demo cluster matches the golden file")
  func planTextGolden() throws {
    let result = try BallastProcess.run(["plan", "--cluster", "clusters/demo.yaml", "--no-timing"])
    #expect(result.status == 0, "\(result.stderr)")
    try Self.expectGolden(result.stdout, "plan-demo.txt")
  }

  @Test("drain --dry-run --json on the demo cluster matches the golden file")
  func drainGolden() throws {
    let result = try BallastProcess.run([
      "drain", "h1", "--cluster", "clusters/demo.yaml", "--dry-run", "--json", "--no-timing",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    try Self.expectGolden(result.stdout, "drain-h1-demo.json")
  }

  @Test(
    "Same input, byte-identical JSON",
    arguments: [
      ["plan", "--cluster", "clusters/generated-100x2000.yaml", "--json", "--no-timing"],
      ["drain", "host-001", "--cluster", "clusters/generated-100x2000.yaml", "--dry-run", "--json", "--no-timing"],
    ])
  func deterministic(arguments: [String]) throws {
    let first = try BallastProcess.run(arguments)
    let second = try BallastProcess.run(arguments)
    #expect(first.status == 0, "\(first.stderr)")
    #expect(!first.stdout.isEmpty)
    #expect(first.stdout == second.stdout)
  }

  @Test("plan --json has the documented keys, and planMillis unless --no-timing")
  func planKeys() throws {
    let result = try BallastProcess.run(["plan", "--cluster", "clusters/demo.yaml", "--json"])
    let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    for key in ["moves", "rejected", "before", "after", "stats"] { #expect(object[key] != nil, "missing \(key)") }
    let moves = try #require(object["moves"] as? [[String: Any]])
    let move = try #require(moves.first)
    for key in ["vm", "from", "to", "kind", "reason", "predicted"] { #expect(move[key] != nil, "missing \(key)") }
    let predicted = try #require(move["predicted"] as? [String: Any])
    for key in ["seconds", "downtimeMs", "bytes", "rounds", "converges"] {
      #expect(predicted[key] != nil, "missing predicted.\(key)")
    }
    let rejected = try #require((object["rejected"] as? [[String: Any]])?.first)
    for key in ["vm", "host", "filter", "reason"] { #expect(rejected[key] != nil, "missing rejected.\(key)") }
    let before = try #require(object["before"] as? [String: Any])
    #expect(before["imbalance"] as? Double != nil)
    let host = try #require((before["hosts"] as? [[String: Any]])?.first)
    for key in ["name", "cpu", "memory"] { #expect(host[key] != nil, "missing before.hosts.\(key)") }
    let stats = try #require(object["stats"] as? [String: Any])
    #expect(stats["planMillis"] as? Double != nil)
  }

  @Test("plan --explain lists every host with its verdict")
  func explain() throws {
    let result = try BallastProcess.run(["plan", "--cluster", "clusters/demo.yaml", "--explain", "batch-1"])
    #expect(result.status == 0, "\(result.stderr)")
    for host in ["h1", "h2", "h3", "h4", "h5"] { #expect(result.stdout.contains("\n\(host) ")) }
    #expect(result.stdout.contains("rule batch-off-old-hardware keeps batch-1 off h5"))
    let json = try BallastProcess.run(["plan", "--cluster", "clusters/demo.yaml", "--explain", "batch-1", "--json"])
    let object = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect((object["candidates"] as? [[String: Any]])?.count == 5)
    let unknown = try BallastProcess.run(["plan", "--cluster", "clusters/demo.yaml", "--explain", "batch-2"])
    #expect(unknown.status != 0)
    #expect(unknown.stderr.contains("no VM named batch-2 in cluster demo; did you mean batch-1?"))
  }

  @Test("A drain that cannot complete is refused, lists every blocked VM, and exits 1")
  func drainRefused() throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let policy = folder.appendingPathComponent("strict.yaml")
    try "version: 1\nname: strict\nliveIneligible: fail\n".write(to: policy, atomically: true, encoding: .utf8)
    let result = try BallastProcess.run([
      "drain", "h1", "--cluster", "clusters/demo.yaml", "--policy", policy.path, "--dry-run",
    ])
    #expect(result.status == 1)
    #expect(result.stdout.hasPrefix("REFUSED — cannot drain h1: 1 of 8 VMs has nowhere to go (build-1)"))
    #expect(result.stdout.contains("build-1  h5    storage"))
  }

  @Test("drain of an unknown host says which one it may have meant", arguments: [["--dry-run"], []])
  func drainUnknownHost(extra: [String]) throws {
    let unknown = try BallastProcess.run(["drain", "h9", "--cluster", "clusters/demo.yaml"] + extra)
    #expect(unknown.status != 0)
    #expect(unknown.stderr.contains("no host named h9 in cluster demo; did you mean h1?"), "\(unknown.stderr)")
  }

  @Test("bench prints one row per size")
  func bench() throws {
    let result = try BallastProcess.run(["bench", "--sizes", "20x300,40x600"])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stdout.split(separator: "\n")
    #expect(lines.contains { $0.hasPrefix("HOSTS") })
    #expect(lines.contains { $0.hasPrefix("   20") || $0.hasPrefix("20 ") })
    #expect(lines.contains { $0.hasPrefix("   40") || $0.hasPrefix("40 ") })
  }
}
