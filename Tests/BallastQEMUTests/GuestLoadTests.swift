import BallastDriverSupport
import BallastEngine
import BallastModel
import Foundation
import Testing

@testable import BallastQEMU

extension QEMUIntegration {
  @Suite("Changing a running guest's load")
  struct GuestLoadTests {
    /// The VM's CPU over `seconds` as the driver's inventory reports it (from `/proc`), and the
    /// QEMU process's own CPU time over the same window.
    static func cpu(_ test: TestLab, vm: String, over seconds: Double) async throws -> (inventory: Double, proc: Double)
    {
      let host = try #require(test.lab.hostDefining(vm))
      let pid = try #require(test.lab.instance(vm: vm, on: host)).pid
      _ = try await test.driver.inventory()
      let start = try #require(ProcessInspector.sample(pid))
      try await Task.sleep(for: .seconds(seconds))
      let usage = try #require(try await test.driver.inventory().vm(named: vm)).usage.cpu
      let end = try #require(ProcessInspector.sample(pid))
      return (usage, ProcessInspector.cpuFraction(end, since: start))
    }

    @Test("duty 10 → 90 shows in the QEMU process's CPU and the inventory, before and after a live migration")
    func dutyCycle() async throws {
      let vm = labVM(
        "dial", workingSet: .mib(4), dirtyRate: .mbPerSecond(1), cpu: 0.1,
        disks: [Disk(datastore: "shared", size: .mib(16))])
      try await TestLab.with(vms: [vm]) { test in
        let booted = try await test.lab.waitForGuest(vm: "dial", on: "host-a")
        #expect(booted.dutyPercent == 10 && booted.commands == 0)
        let low = try await Self.cpu(test, vm: "dial", over: 2)

        let raised = try await test.lab.setLoad(vm: "dial", duty: 90, rate: .mbPerSecond(2))
        #expect(
          raised == GuestLoadAck(workingSetBytes: 4 << 20, dirtyBytesPerSecond: 2_000_000, dutyPercent: 90, commands: 1)
        )
        let status = try #require(try await test.lab.guestStatus(vm: "dial", on: "host-a"))
        #expect(status.dutyPercent == 90 && status.commands == 1)
        #expect(status.ratePagesPerSecond == 2_000_000 / 4096)
        let high = try await Self.cpu(test, vm: "dial", over: 2)
        #expect(high.inventory > low.inventory + 0.3, "inventory CPU \(low.inventory) → \(high.inventory)")
        #expect(high.proc > low.proc + 0.3, "QEMU process CPU \(low.proc) → \(high.proc)")
        let definition = try VMDefinition.load(test.lab.layout.definitionFile("dial", on: "host-a"))
        #expect(definition.workload.dutyPercent == 90, "the definition keeps the load for a restart")
        #expect(definition.workload.dirtyBytesPerSecond == 2_000_000)

        // The guest's load travels in its memory; the destination has its own control socket.
        let request = MigrationRequest(vm: "dial", from: "host-a", to: "host-b", kind: .live)
        let reservation = try await test.driver.reserve(request)
        let settings = LiveSettings(
          downtimeLimit: .milliseconds(300), bandwidthCap: .mbPerSecond(100), convergence: Convergence())
        _ = try await test.driver.transfer(reservation, settings: settings) { _ in }
        try await test.driver.commit(reservation)
        try await test.driver.activate(reservation)
        let moved = try #require(try await test.lab.guestStatus(vm: "dial", on: "host-b"))
        #expect(moved.dutyPercent == 90 && moved.commands == 1)
        let hot = try await Self.cpu(test, vm: "dial", over: 2)
        #expect(hot.inventory > low.inventory + 0.3, "on host-b: \(hot.inventory)")

        let lowered = try await test.lab.setLoad(vm: "dial", duty: 10)
        #expect(lowered.dutyPercent == 10 && lowered.commands == 2 && lowered.dirtyBytesPerSecond == 2_000_000)
        #expect(try VMDefinition.load(test.lab.layout.definitionFile("dial", on: "host-b")).workload.dutyPercent == 10)
        let cool = try await Self.cpu(test, vm: "dial", over: 2)
        #expect(cool.inventory < hot.inventory - 0.3, "on host-b after lowering: \(hot.inventory) → \(cool.inventory)")
      }
    }

    @Test("a load change for a VM that is not running is refused with the reason")
    func notRunning() async throws {
      let vm = labVM("asleep", state: .stopped)
      try await TestLab.with(vms: [vm]) { test in
        let error = await #expect(throws: DriverError.self) { try await test.lab.setLoad(vm: "asleep", duty: 50) }
        #expect(error?.message.contains("not running") == true, "\(String(describing: error))")
        await #expect(throws: DriverError.self) { try await test.lab.setLoad(vm: "nowhere", duty: 50) }
      }
    }
  }
}
