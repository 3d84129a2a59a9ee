import Testing

@testable import BallastModel

@Suite("Imbalance")
struct ImbalanceTests {
  /// Two hosts of 10 cores / 100 GiB. h1: one VM of 4 vCPUs at 50 % (2 cores) and 40 GiB;
  /// h2: one VM of 2 vCPUs at 100 % (2 cores) and 10 GiB, plus a stopped 50 GiB VM.
  static func cluster(h2State: HostState = .active) -> Cluster {
    Cluster(
      name: "t", datastores: [Datastore(name: "s", shared: true)],
      hosts: [
        Host(
          name: "h1", cores: 10, memory: .gib(100), cpuModel: "Skylake-Server", migrationBandwidth: .gbit(10),
          datastores: ["s"]),
        Host(
          name: "h2", cores: 10, memory: .gib(100), cpuModel: "Skylake-Server", migrationBandwidth: .gbit(10),
          datastores: ["s"], state: h2State),
        Host(
          name: "h3", cores: 20, memory: .gib(200), cpuModel: "Skylake-Server", migrationBandwidth: .gbit(10),
          datastores: ["s"]),
      ],
      vms: [
        VM(
          name: "a", host: "h1", vcpus: 4, memory: .gib(40), cpuModel: "Skylake-Server",
          usage: Usage(cpu: 0.5, memory: 1)),
        VM(
          name: "b", host: "h2", vcpus: 2, memory: .gib(10), cpuModel: "Skylake-Server", usage: Usage(cpu: 1, memory: 1)
        ),
        VM(name: "c", host: "h2", state: .stopped, vcpus: 8, memory: .gib(50), cpuModel: "Skylake-Server"),
      ])
  }

  @Test func utilizationIsDemandOverCapacity() {
    let u = Self.cluster().utilizations()
    #expect(u[0] == HostUtilization(cpu: 0.2, memory: 0.4))
    #expect(u[1] == HostUtilization(cpu: 0.2, memory: 0.1))  // the stopped VM is not load
    #expect(u[2] == HostUtilization(cpu: 0, memory: 0))
  }

  @Test func imbalanceIsPopulationStandardDeviationOfWeightedUtilization() {
    // Weighted (0.5/0.5): h1 0.3, h2 0.15, h3 0 → mean 0.15, variance (0.0225+0+0.0225)/3 = 0.015.
    let value = Imbalance.of(Self.cluster())
    #expect(abs(value - 0.015.squareRoot()) < 1e-12)
  }

  @Test func weightsAreNormalizedAndMaintenanceHostsIgnored() {
    // CPU only: h1 0.2, h3 0 (h2 in maintenance) → std dev 0.1.
    let value = Imbalance.of(Self.cluster(h2State: .maintenance), weights: MetricWeights(cpu: 2, memory: 0))
    #expect(abs(value - 0.1) < 1e-12)
  }

  @Test func accumulatorMatchesDirectComputation() {
    var acc = ImbalanceAccumulator([0.3, 0.15, 0])
    #expect(abs(acc.standardDeviation - Imbalance.standardDeviation([0.3, 0.15, 0])) < 1e-12)
    acc.replace(0.3, with: 0.15)
    acc.replace(0, with: 0.15)
    #expect(acc.standardDeviation < 1e-9)
  }
}
