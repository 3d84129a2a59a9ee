import BallastEngine
import BallastModel
import Foundation
import Testing

@testable import BallastQEMU

extension QEMUIntegration {
  @Suite("Lab up and down, inventory from real processes")
  struct LabTests {
    @Test("up builds the guest, mounts datastores, creates disks and starts running VMs; down stops them")
    func upAndDown() async throws {
      let vms = [
        labVM("busy", cpu: 0.6, disks: [Disk(datastore: "shared", size: .mib(32))]),
        labVM("idle", on: "host-b", cpu: 0, disks: [Disk(datastore: "local-host-b", size: .mib(16))]),
        labVM("off", state: .stopped, disks: [Disk(datastore: "local-host-a", size: .mib(16))]),
      ]
      try await TestLab.with(vms: vms) { test in
        let layout = test.lab.layout
        let files = FileManager.default
        #expect(files.fileExists(atPath: layout.guestKernel))
        #expect(
          try files.destinationOfSymbolicLink(atPath: layout.mount("shared", on: "host-b")).hasSuffix("/shared/shared"))
        #expect(files.fileExists(atPath: layout.mount("shared", on: "host-a") + "/busy-disk0.qcow2"))
        #expect(files.fileExists(atPath: layout.mount("local-host-a", on: "host-a") + "/off-disk0.qcow2"))
        #expect(test.lab.instance(vm: "busy", on: "host-a") != nil)
        #expect(test.lab.instance(vm: "idle", on: "host-b") != nil)
        #expect(test.lab.instance(vm: "off", on: "host-a") == nil)
        // The lab's QEMUs run without transparent huge pages (see TransparentHugePages).
        let pid = try #require(test.lab.instance(vm: "busy", on: "host-a")?.pid)
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        if status.contains("THP_enabled:") {  // Linux 5.0 and later say
          #expect(status.contains("THP_enabled:\t0"), "\(status.split(separator: "\n").filter { $0.hasPrefix("THP") })")
        }

        _ = try await test.lab.waitForGuest(vm: "busy", on: "host-a")
        _ = try await test.driver.inventory()  // first CPU sample
        try await Task.sleep(for: .seconds(2))
        let cluster = try await test.driver.inventory()
        let busy = try #require(cluster.vm(named: "busy"))
        let idle = try #require(cluster.vm(named: "idle"))
        let off = try #require(cluster.vm(named: "off"))
        #expect(busy.state == .running && busy.host == "host-a")
        #expect(idle.state == .running && idle.host == "host-b")
        #expect(off.state == .stopped)
        // The guest is busy 60 % of the time; TCG adds overhead, an idle guest halts.
        #expect(busy.usage.cpu > 0.3, "busy guest's CPU from /proc: \(busy.usage.cpu)")
        #expect(idle.usage.cpu < busy.usage.cpu)
        #expect(busy.usage.memory > 0 && busy.usage.memory <= 1)
        #expect(cluster.hosts.map(\.name) == ["host-a", "host-b"])

        #expect(try await test.driver.locate(vm: "busy") == [VMPlacement(host: "host-a", state: .running)])
        #expect(try await test.driver.locate(vm: "off") == [VMPlacement(host: "host-a", state: .stopped)])

        try await test.lab.down()
        #expect(test.lab.instance(vm: "busy", on: "host-a") == nil)
        #expect(test.lab.instance(vm: "idle", on: "host-b") == nil)
        let reports = try await test.lab.up()
        #expect(reports.first { $0.vm == "busy" }?.action == .started)
        #expect(reports.first { $0.vm == "off" }?.action == .left)
        #expect(test.lab.instance(vm: "busy", on: "host-a") != nil)
      }
    }

    @Test("the first inventory measures a VM's CPU now, not since QEMU started (its start and the boot are busy)")
    func firstSample() async throws {
      let vms = [
        labVM("quiet", workingSet: .zero, cpu: 0), labVM("quiet-too", on: "host-b", workingSet: .zero, cpu: 0),
      ]
      try await TestLab.with(vms: vms) { test in
        _ = try await test.lab.waitForGuest(vm: "quiet", on: "host-a")
        _ = try await test.lab.waitForGuest(vm: "quiet-too", on: "host-b")
        // Over its short life QEMU was mostly busy starting (0.7–1 of a CPU here); now it idles
        // (a few percent, more on a loaded machine).
        let cluster = try await test.driver.inventory()
        for vm in cluster.vms {
          #expect(vm.usage.cpu < 0.3, "\(vm.name) idles but shows \(vm.usage.cpu)")
        }
      }
    }
  }
}
