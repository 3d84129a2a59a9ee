import BallastTestSupport
import Foundation
import Testing

@Suite("validate, status, generate (end to end)")
struct FoundationCommandsTests {
  @Test func statusOfTheDemoCluster() throws {
    let result = try BallastProcess.run(["status", "--cluster", "clusters/demo.yaml"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("Cluster demo: 5 hosts"))
    #expect(result.stdout.contains("h1    active"))
    #expect(result.stdout.contains("Imbalance: 0.280"))
  }

  @Test func statusJSONHasTheDocumentedKeys() throws {
    let result = try BallastProcess.run(["status", "--cluster", "clusters/demo.yaml", "--json"])
    #expect(result.status == 0)
    let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let hosts = try #require(object["hosts"] as? [[String: Any]])
    #expect(hosts.count == 5)
    for key in ["name", "cpu", "memory", "vmsRunning", "vmsStopped", "state"] {
      #expect(hosts[0][key] != nil, "missing \(key)")
    }
    #expect(hosts[0]["name"] as? String == "h1")
    #expect(hosts[0]["vmsRunning"] as? Int == 7)
    let imbalance = try #require(object["imbalance"] as? Double)
    #expect(abs(imbalance - 0.28) < 0.005)
  }

  @Test func validateReportsEveryErrorWithFileAndLineAndFails() throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("bad.yaml")
    try """
    version: 1
    name: bad
    hosts:
      - {name: h1, cores: 8, memory: 64GB?, cpuModel: Skylake-Server, migrationBandwidth: 10Gbit/s}
    vms:
      - {name: a, host: h7, vcpus: 2, memory: 4GiB, cpuModel: Skylake-Server, colour: red}
    """.write(to: file, atomically: true, encoding: .utf8)
    let result = try BallastProcess.run(["validate", "--cluster", file.path])
    #expect(result.status != 0)
    #expect(result.stderr.contains("\(file.path):4:"))
    #expect(result.stderr.contains("hosts[0].memory"))
    #expect(result.stderr.contains("\(file.path):6:"))
    #expect(result.stderr.contains("unknown key 'colour'"))
    #expect(!result.stderr.contains("Fatal error"))
  }

  @Test func validateJSON() throws {
    let result = try BallastProcess.run([
      "validate", "--cluster", "clusters/demo.yaml", "--policy", "nope.yaml", "--json",
    ])
    #expect(result.status != 0)
    let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(object["valid"] as? Bool == false)
    let errors = try #require(object["errors"] as? [[String: Any]])
    #expect(errors.first?["file"] as? String == "nope.yaml")
  }

  @Test func validateAcceptsEveryShippedFile() throws {
    for policy in ["balanced", "conservative", "maintenance"] {
      let result = try BallastProcess.run([
        "validate", "--cluster", "clusters/demo.yaml", "--policy", "policies/\(policy).yaml",
      ])
      #expect(result.status == 0, "\(policy): \(result.stderr)")
    }
  }

  @Test func generateIsDeterministicAndValid() throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let a = try BallastProcess.run(["generate", "--hosts", "12", "--vms", "150", "--seed", "4"])
    let b = try BallastProcess.run(["generate", "--hosts", "12", "--vms", "150", "--seed", "4"])
    #expect(a.status == 0 && a.stdout == b.stdout)
    let path = folder.appendingPathComponent("g.yaml").path
    let written = try BallastProcess.run([
      "generate", "--hosts", "12", "--vms", "150", "--seed", "4", "--output", path,
    ])
    #expect(written.status == 0)
    #expect(try String(contentsOfFile: path, encoding: .utf8) == a.stdout)
    #expect(try BallastProcess.run(["validate", "--cluster", path]).status == 0)
  }

  @Test func generateRejectsBadOptions() throws {
    let result = try BallastProcess.run(["generate", "--hosts", "3", "--vms", "10", "--cpu-models", "Pentium"])
    #expect(result.status != 0)
    #expect(result.stderr.contains("unknown CPU model 'Pentium'"))
  }
}

@Suite("generate --traces and simulate (end to end)")
struct TracesAndSimulateTests {
  @Test func generatedTracesDriveASimulation() throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let generated = try BallastProcess.run(
      ["generate", "--hosts", "6", "--vms", "60", "--seed", "3", "--traces", "traces", "-o", "c.yaml"], in: folder)
    #expect(generated.status == 0, "\(generated.stderr)")
    let cluster = try String(contentsOf: folder.appendingPathComponent("c.yaml"), encoding: .utf8)
    let traceLine = try #require(cluster.split(separator: "\n").first { $0.contains("trace: traces/vm-") })
    let tracePath = String(traceLine.split(separator: " ").last ?? "")
    let trace = try String(contentsOf: folder.appendingPathComponent(tracePath), encoding: .utf8)
    #expect(trace.split(separator: "\n").count == 288)

    let result = try BallastProcess.run(
      [
        "simulate", "--cluster", "c.yaml", "--duration", "6h", "--json", "--report", "r.html",
        "--policy", BallastProcess.repositoryRoot.appendingPathComponent("policies/balanced.yaml").path,
      ], in: folder)
    #expect(result.status == 0, "\(result.stderr)")
    let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let policies = try #require(object["policies"] as? [[String: Any]])
    #expect(policies.map { $0["policy"] as? String } == ["no balancing", "balanced"])
    for key in [
      "policy", "imbalanceMean", "imbalanceP95", "imbalanceMax", "migrations", "live", "cold", "downtimeTotalMs",
      "downtimeMaxMs", "bytesMoved", "overloadHostSeconds",
    ] {
      #expect(policies[1][key] != nil, "missing \(key)")
    }
    let baseline = try #require(policies[0]["imbalanceMean"] as? Double)
    let balanced = try #require(policies[1]["imbalanceMean"] as? Double)
    #expect(policies[0]["migrations"] as? Int == 0)
    #expect(balanced < baseline)
    #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("r.html").path))
  }

  @Test func simulateRejectsBadInput() throws {
    let result = try BallastProcess.run(["simulate", "--cluster", "clusters/demo.yaml", "--step", "soon"])
    #expect(result.status != 0)
    #expect(result.stderr.contains("--step"))
  }
}
