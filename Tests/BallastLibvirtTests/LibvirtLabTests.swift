import BallastEngine
import BallastModel
import BallastTestSupport
import Foundation
import Testing

@testable import BallastLibvirt

/// The libvirt driver against real libvirt daemons (the lab of clusters/libvirt-lab.yaml).
@Suite(.serialized, .enabled(if: LibvirtLabAvailability.ready, LibvirtLabAvailability.reason), .timeLimit(.minutes(20)))
struct LibvirtLabTests {
  @Test func inventoryReadsHostsVMsDisksAndLoadFromTheDaemons() async throws {
    try await LibvirtTestLab.with { lab in
      _ = try await lab.waitForGuest("web-1", on: "lab-1")
      let cluster = try await lab.driver.inventory()
      #expect(cluster.hosts.map(\.name) == ["lab-1", "lab-2", "lab-3"])
      #expect(cluster.hosts.map(\.cpuModel) == ["Cascadelake-Server", "Cascadelake-Server", "Broadwell"])
      #expect(cluster.hosts.first?.memory == .mib(512))
      let placement = Dictionary(uniqueKeysWithValues: cluster.vms.map { ($0.name, "\($0.host)/\($0.state.rawValue)") })
      #expect(
        placement == [
          "web-1": "lab-1/running", "db-1": "lab-1/running", "cache-1": "lab-1/running",
          "batch-1": "lab-2/stopped", "idle-1": "lab-2/running",
        ])
      let web = try #require(cluster.vm(named: "web-1"))
      #expect(web.memory == .mib(96))
      #expect(web.cpuModel == "Broadwell")
      #expect(web.disks.map(\.datastore) == ["san"])
      #expect(web.usage.cpu > 0.05, "the guest's duty cycle is 20 %: measured \(web.usage.cpu)")
      #expect(web.dirtyRate == .mbPerSecond(8))
      #expect(cluster.vm(named: "cache-1")?.disks.map(\.datastore) == ["local@lab-1"])
      #expect(cluster.datastore(named: "san")?.shared == true)
      #expect(cluster.datastore(named: "local@lab-1")?.shared == false)
      #expect(cluster.hosts.first?.datastores.sorted() == ["local@lab-1", "san"])
      let placements = try await lab.driver.locate(vm: "batch-1")
      #expect(placements == [VMPlacement(host: "lab-2", state: .stopped)])
    }
  }
}
