import BallastTestSupport
import Foundation
import Testing

/// `validate`, `status` and `plan` on a cluster that breaks its rules (clusters/broken-rules.yaml).
@Suite("Broken rules in validate, status and plan (end to end)")
struct RuleCommandsTests {
  static let cluster = "clusters/broken-rules.yaml"

  @Test("validate warns about every broken rule and exits 0: the file is valid")
  func validateWarns() throws {
    let result = try BallastProcess.run(["validate", "--cluster", Self.cluster])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("\(Self.cluster): valid — cluster broken-rules"))
    let warnings = result.stderr.split(separator: "\n").filter { $0.hasPrefix("\(Self.cluster): warning: ") }
    #expect(warnings.count == 8, "\(result.stderr)")
    #expect(
      warnings.first
        == "\(Self.cluster): warning: anti-affinity rule db-pair: db-1 and db-2 share h1 (hard, a balance round repairs it first)"
    )
    #expect(warnings.last == "\(Self.cluster): warning: rule reports-on-h4 prefers report-1 on h4; it is on h1 (soft)")
  }

  @Test("validate --json carries the warnings, every key present")
  func validateJSON() throws {
    let result = try BallastProcess.run(["validate", "--cluster", Self.cluster, "--json"])
    #expect(result.status == 0, "\(result.stderr)")
    let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(object["valid"] as? Bool == true)
    #expect((object["errors"] as? [Any])?.isEmpty == true)
    let warnings = try #require(object["warnings"] as? [[String: Any]])
    #expect(warnings.count == 8)
    #expect(
      warnings.map { $0["kind"] as? String } == [
        "antiAffinity", "affinity", "vmHost", "vmHost", "capacity", "cpu", "antiAffinity", "vmHost",
      ])
    #expect(warnings[0]["rule"] as? String == "db-pair")
    #expect(warnings[0]["mode"] as? String == "must")
    #expect(warnings[0]["check"] as? String == "anti-affinity")
    #expect(warnings[0]["vms"] as? [String] == ["db-1", "db-2"])
    #expect(warnings[0]["hosts"] as? [String] == ["h1"])
    #expect(warnings[4]["rule"] is NSNull, "capacity has no rule name: null")
    #expect(warnings.filter { $0["hard"] as? Bool == false }.count == 2)
  }

  @Test("A valid cluster has no warnings")
  func noWarnings() throws {
    let result = try BallastProcess.run(["validate", "--cluster", "clusters/demo.yaml", "--json"])
    let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect((object["warnings"] as? [Any])?.isEmpty == true)
    let status = try BallastProcess.run(["status", "--cluster", "clusters/demo.yaml"])
    #expect(!status.stdout.contains("broken rule"))
  }

  @Test("status lists the broken rules (golden)")
  func statusGolden() throws {
    let result = try BallastProcess.run(["status", "--cluster", Self.cluster])
    #expect(result.status == 0, "\(result.stderr)")
    try PlanCommandsTests.expectGolden(result.stdout, "status-broken-rules.txt")
  }

  @Test("status --json lists them too")
  func statusJSON() throws {
    let result = try BallastProcess.run(["status", "--cluster", Self.cluster, "--json"])
    let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let violations = try #require(object["violations"] as? [[String: Any]])
    #expect(violations.count == 8)
    #expect(violations.filter { $0["hard"] as? Bool == true }.count == 6)
    let demo = try BallastProcess.run(["status", "--cluster", "clusters/demo.yaml", "--json"])
    let clean = try #require(JSONSerialization.jsonObject(with: Data(demo.stdout.utf8)) as? [String: Any])
    #expect((clean["violations"] as? [Any])?.isEmpty == true)
  }

  @Test("plan repairs first, then balances (golden, text and JSON)")
  func planGolden() throws {
    let text = try BallastProcess.run(["plan", "--cluster", Self.cluster, "--no-timing"])
    #expect(text.status == 0, "\(text.stderr)")
    try PlanCommandsTests.expectGolden(text.stdout, "plan-broken-rules.txt")
    let json = try BallastProcess.run(["plan", "--cluster", Self.cluster, "--json", "--no-timing"])
    try PlanCommandsTests.expectGolden(json.stdout, "plan-broken-rules.json")
    let object = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect((object["violationsBefore"] as? [Any])?.count == 8)
    #expect(
      (object["violationsAfter"] as? [[String: Any]])?.map { $0["rule"] as? String } == ["licensed", "reports-on-h4"])
    let moves = try #require(object["moves"] as? [[String: Any]])
    #expect(moves.filter { $0["repairs"] != nil }.count == 5)
  }
}
