import Testing

@testable import BallastModel

@Suite("Cluster generator")
struct GeneratorTests {
  @Test func sameSeedSameCluster() {
    let a = ClusterGenerator(hosts: 20, vms: 300, seed: 42).generate()
    let b = ClusterGenerator(hosts: 20, vms: 300, seed: 42).generate()
    #expect(a == b)
    #expect(ClusterWriter.yaml(a) == ClusterWriter.yaml(b))
    #expect(a != ClusterGenerator(hosts: 20, vms: 300, seed: 43).generate())
  }

  @Test(arguments: [(5, 40, UInt64(1)), (50, 1000, 7), (200, 4000, 3)])
  func generatedClustersAreValidAndMixed(hosts: Int, vms: Int, seed: UInt64) throws {
    let cluster = ClusterGenerator(hosts: hosts, vms: vms, seed: seed).generate()
    #expect(cluster.hosts.count == hosts)
    #expect(cluster.vms.count == vms)
    #expect(ClusterValidator.check(cluster, sourceMap: SourceMap(file: "gen")).isEmpty)
    #expect(Set(cluster.hosts.map(\.cores)).count > 1)
    #expect(cluster.vms.contains { !$0.state.isRunning })
    #expect(cluster.datastores.contains { !$0.shared } && cluster.datastores.contains { $0.shared })
    if hosts >= 50 {
      #expect(Set(cluster.hosts.map(\.cpuModel)).count > 1)
      #expect(Imbalance.of(cluster) > 0.05)  // skewed load
    }
  }

  @Test func sharedRatioIsHonoured() {
    let cluster = ClusterGenerator(hosts: 10, vms: 500, seed: 5, sharedRatio: 0).generate()
    #expect(cluster.vms.allSatisfy { vm in vm.disks.allSatisfy { $0.datastore.hasSuffix("-local") } })
  }
}
