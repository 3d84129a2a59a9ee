import BallastModel
import Testing

@testable import BallastCLI
@testable import BallastRuntime

@Suite("Simulation figures and chart")
struct SimulationRecordTests {
  static func cluster(cpu: [Double]) -> Cluster {
    Cluster(
      name: "t", datastores: [],
      hosts: cpu.indices.map {
        Host(
          name: "h\($0)", cores: 10, memory: .gib(100), cpuModel: "qemu64", migrationBandwidth: .gbit(1), datastores: []
        )
      },
      vms: cpu.enumerated().map { i, load in
        VM(
          name: "v\(i)", host: "h\(i)", vcpus: 10, memory: .gib(10), cpuModel: "qemu64",
          usage: Usage(cpu: min(load, 1), memory: 0))
      }
        + cpu.enumerated().filter { $0.element > 1 }.map { i, load in
          VM(
            name: "x\(i)", host: "h\(i)", vcpus: 10, memory: .gib(0.001), cpuModel: "qemu64",
            usage: Usage(cpu: load - 1, memory: 0))
        })
  }

  @Test func summaryFigures() {
    var record = SimulationRecord(policy: "p", hosts: ["h0", "h1"], stepSeconds: 300)
    record.recordStep(at: 0, cluster: Self.cluster(cpu: [1.5, 0.5]), weights: MetricWeights(cpu: 1, memory: 0))
    record.recordStep(at: 300, cluster: Self.cluster(cpu: [1.2, 0.8]), weights: MetricWeights(cpu: 1, memory: 0))
    record.recordStep(at: 600, cluster: Self.cluster(cpu: [0.9, 0.9]), weights: MetricWeights(cpu: 1, memory: 0))
    record.migrations = [
      MigrationMark(at: 100, vm: "v0", from: "h0", to: "h1", kind: .live, downtimeMs: 120, bytes: 4e9, completed: true),
      MigrationMark(
        at: 200, vm: "v1", from: "h0", to: "h1", kind: .cold, downtimeMs: 40_000, bytes: 1e9, completed: true),
      MigrationMark(at: 250, vm: "v2", from: "h0", to: "h1", kind: .live, downtimeMs: 0, bytes: 0, completed: false),
    ]
    let s = record.summary
    #expect(abs(s.imbalanceMax - 0.5) < 1e-9)  // |1.5 − 0.5| / 2
    #expect(abs(s.imbalanceMean - (0.5 + 0.2 + 0) / 3) < 1e-9)
    #expect(abs(s.imbalanceP95 - 0.5) < 1e-9)
    #expect(s.migrations == 2 && s.live == 1 && s.cold == 1 && s.failed == 1)
    #expect(s.downtimeTotalMs == 40_120 && s.downtimeMaxMs == 40_000)
    #expect(s.bytesMoved == 5e9)
    #expect(s.overloadHostSeconds == 600)  // h0 over 100 % at two steps of 300 s
  }

  @Test func percentileIsNearestRank() {
    #expect(SimulationRecord.percentile([5, 1, 4, 2, 3], 0.5) == 3)
    #expect(SimulationRecord.percentile(Array(1...100).map(Double.init), 0.95) == 95)
    #expect(SimulationRecord.percentile([], 0.95) == 0)
  }

  @Test func chartIsSelfContainedHTML() {
    var record = SimulationRecord(policy: "p<1>", hosts: ["h0", "h1"], stepSeconds: 300)
    record.recordStep(at: 0, cluster: Self.cluster(cpu: [0.9, 0.1]), weights: MetricWeights())
    record.recordStep(at: 3600, cluster: Self.cluster(cpu: [0.5, 0.5]), weights: MetricWeights())
    record.migrations = [
      MigrationMark(at: 1800, vm: "v0", from: "h0", to: "h1", kind: .live, downtimeMs: 1, bytes: 1, completed: true)
    ]
    let html = SimulationChart.html(records: [record], title: "replay")
    #expect(html.hasPrefix("<!doctype html>"))
    #expect(html.contains("<svg"))
    #expect(html.contains("p&lt;1&gt;"))
    #expect(html.contains("v0: h0 → h1 (live)"))
    #expect(!html.contains("<script"))
    #expect(!html.contains("src=") && !html.contains("href="))  // nothing loaded from elsewhere
    #expect(html.components(separatedBy: "<polyline").count - 1 == 5)
  }
}
