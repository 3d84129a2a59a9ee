import Testing

@testable import BallastModel

@Suite("Load monitor and traces")
struct LoadMonitorTests {
  static func settings(_ method: SmoothingMethod, window: Double = 900) -> MonitorSettings {
    var settings = MonitorSettings()
    settings.method = method
    settings.window = TimeSpan(seconds: window)
    settings.alpha = 0.5
    settings.staleAfter = .seconds(180)
    return settings
  }

  @Test func meanOverTheWindowDropsOldSamples() {
    var monitor = LoadMonitor(settings: Self.settings(.mean, window: 120))
    monitor.record(vm: "a", at: 0, usage: Usage(cpu: 1.0, memory: 0.2))
    monitor.record(vm: "a", at: 60, usage: Usage(cpu: 0.2, memory: 0.2))
    monitor.record(vm: "a", at: 120, usage: Usage(cpu: 0.4, memory: 0.2))
    monitor.record(vm: "a", at: 180, usage: Usage(cpu: 0.6, memory: 0.2))
    // The sample at 0 is outside [60, 180].
    #expect(abs((monitor.smoothed(vm: "a")?.cpu ?? -1) - 0.4) < 1e-12)
  }

  @Test func ewmaWeighsTheNewestSampleByAlpha() {
    var monitor = LoadMonitor(settings: Self.settings(.ewma))
    monitor.record(vm: "a", at: 0, usage: Usage(cpu: 0.2, memory: 0.5))
    monitor.record(vm: "a", at: 60, usage: Usage(cpu: 1.0, memory: 0.5))
    // 0.5 × 1.0 + 0.5 × 0.2
    #expect(abs((monitor.smoothed(vm: "a")?.cpu ?? -1) - 0.6) < 1e-12)
  }

  @Test func oneSpikeBarelyMovesTheMean() {
    var monitor = LoadMonitor(settings: Self.settings(.mean))
    for t in stride(from: 0.0, through: 840, by: 60) {
      monitor.record(vm: "a", at: t, usage: Usage(cpu: t == 420 ? 1.0 : 0.1, memory: 0.5))
    }
    #expect((monitor.smoothed(vm: "a")?.cpu ?? 1) < 0.2)
  }

  @Test func hostsNotHeardFromAreStale() {
    let cluster = Cluster(
      name: "t", datastores: [],
      hosts: ["h1", "h2", "h3"].map {
        Host(name: $0, cores: 4, memory: .gib(8), cpuModel: "qemu64", migrationBandwidth: .gbit(1), datastores: [])
      }, vms: [])
    var monitor = LoadMonitor(settings: Self.settings(.mean))
    monitor.heard(host: "h1", at: 1000)
    monitor.heard(host: "h2", at: 700)
    #expect(monitor.staleHosts(in: cluster, now: 1000) == ["h2", "h3"])
  }

  @Test func planetLabTraceFormat() throws {
    let trace = try LoadTrace.parse("24\n34\n\n29\n", file: "t")
    #expect(trace.cpu == [0.24, 0.34, 0.29])
    #expect(trace.value(at: 0) == 0.24)
    #expect(trace.value(at: 301) == 0.34)
    #expect(trace.value(at: 900) == 0.24)  // repeats
    #expect(throws: FileErrors.self) { try LoadTrace.parse("12\nabc\n", file: "t") }
  }

  @Test func realTracesLoad() throws {
    // 40 VMs of one PlanetLab day, committed with their source (data/planetlab-sample/README.md).
    let folder = "\(repositoryRoot)/data/planetlab-sample/20110303"
    let traces = try LoadTrace.loadFolder(folder)
    #expect(traces.count == 40)
    #expect(traces.allSatisfy { $0.trace.cpu.count == 288 })
    #expect(traces.map(\.name) == traces.map(\.name).sorted())
    #expect(traces.first?.name == "146-179_surfsnel_dsl_internl_net_colostate_557")
    #expect(traces.first.map { Array($0.trace.cpu.prefix(3)) } == [0.24, 0.34, 0.29])  // the file's first lines
    let mean = traces.reduce(0) { $0 + $1.trace.cpu.reduce(0, +) } / Double(traces.count * 288)
    #expect(abs(mean - 0.1029) < 0.0005)  // the sample's mean, 10.29 % (its README says how it was computed)
  }
}
