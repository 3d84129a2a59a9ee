import BallastDriverSupport
import BallastEngine
import BallastModel
import Foundation
import Testing

@testable import BallastQEMU

extension QEMUIntegration {
  @Suite("Cold migration and power")
  struct ColdMigrationTests {
    /// Writes a recognizable pattern into a qcow2 image, so the copy has data to get right.
    static func writePattern(_ image: String) async throws {
      let output = try await ProcessRunner.run("qemu-io", ["-f", "qcow2", "-c", "write -P 0xa5 1M 3M", image])
      #expect(output.status == 0, "qemu-io: \(output.standardError)")
    }

    @Test("a stopped VM with a local disk moves: copied, verified, registered, and only then removed from the source")
    func coldMigration() async throws {
      let vm = labVM("archive", state: .stopped, disks: [Disk(datastore: "local-host-a", size: .mib(32))])
      try await TestLab.with(vms: [vm]) { test in
        let driver = test.driver
        let layout = test.lab.layout
        let sourceDisk = layout.mount("local-host-a", on: "host-a") + "/archive-disk0.qcow2"
        let targetDisk = layout.mount("local-host-b", on: "host-b") + "/archive-disk0.qcow2"
        try await Self.writePattern(sourceDisk)
        let original = try await SHA256Hasher.file(sourceDisk)

        let disk = Disk(datastore: "local-host-a", size: .mib(32), path: "archive-disk0.qcow2")
        let request = MigrationRequest(vm: "archive", from: "host-a", to: "host-b", kind: .cold, disksToCopy: [disk])
        let reservation = try await driver.reserve(request)
        let copy = try await driver.copyFiles(request, reservation: reservation)
        #expect(copy.checksums["disk:archive-disk0.qcow2"] == original)
        #expect(copy.checksums["vm.json"] != nil)
        #expect(copy.bytes > 3 * 1_048_576)
        #expect(try await SHA256Hasher.file(targetDisk) == original)
        #expect(FileManager.default.fileExists(atPath: sourceDisk), "the source stays until commitment")
        #expect(try await driver.locate(vm: "archive") == [VMPlacement(host: "host-a", state: .stopped)])

        try await driver.register(request, reservation: reservation)
        #expect(
          Set(try await driver.locate(vm: "archive"))
            == [VMPlacement(host: "host-a", state: .stopped), VMPlacement(host: "host-b", state: .stopped)])
        #expect(FileManager.default.fileExists(atPath: sourceDisk))

        try await driver.removeSource(request)
        #expect(!FileManager.default.fileExists(atPath: sourceDisk))
        #expect(!FileManager.default.fileExists(atPath: layout.vmDirectory("archive", on: "host-a")))
        #expect(try await driver.locate(vm: "archive") == [VMPlacement(host: "host-b", state: .stopped)])
        let moved = try #require(try await driver.inventory().vm(named: "archive"))
        #expect(moved.host == "host-b")
        #expect(moved.disks.map(\.datastore) == ["local-host-b"])
        let compare = try await ProcessRunner.run("qemu-img", ["check", "-q", targetDisk])
        #expect(compare.status == 0)

        try await driver.start(vm: "archive", on: "host-b")
        _ = try await test.lab.waitForGuest(vm: "archive", on: "host-b")
        #expect(try await driver.locate(vm: "archive") == [VMPlacement(host: "host-b", state: .running)])
      }
    }

    @Test("a cold move rolled back before commitment leaves the source untouched and the destination empty")
    func coldRollback() async throws {
      let vm = labVM("keeper", state: .stopped, disks: [Disk(datastore: "local-host-a", size: .mib(16))])
      try await TestLab.with(vms: [vm]) { test in
        let layout = test.lab.layout
        let sourceDisk = layout.mount("local-host-a", on: "host-a") + "/keeper-disk0.qcow2"
        let original = try await SHA256Hasher.file(sourceDisk)
        let disk = Disk(datastore: "local-host-a", size: .mib(16))
        let request = MigrationRequest(vm: "keeper", from: "host-a", to: "host-b", kind: .cold, disksToCopy: [disk])
        let reservation = try await test.driver.reserve(request)
        _ = try await test.driver.copyFiles(request, reservation: reservation)
        try await test.driver.register(request, reservation: reservation)
        try await test.driver.discardDestination(request, reservation: reservation)
        #expect(try await test.driver.locate(vm: "keeper") == [VMPlacement(host: "host-a", state: .stopped)])
        #expect(
          !FileManager.default.fileExists(atPath: layout.mount("local-host-b", on: "host-b") + "/keeper-disk0.qcow2"))
        #expect(try await SHA256Hasher.file(sourceDisk) == original)
      }
    }

    @Test("removing the source is refused while the destination copy is not registered")
    func removeRefused() async throws {
      let vm = labVM("early", state: .stopped, disks: [Disk(datastore: "local-host-a", size: .mib(16))])
      try await TestLab.with(vms: [vm]) { test in
        let request = MigrationRequest(
          vm: "early", from: "host-a", to: "host-b", kind: .cold,
          disksToCopy: [Disk(datastore: "local-host-a", size: .mib(16))])
        let reservation = try await test.driver.reserve(request)
        _ = try await test.driver.copyFiles(request, reservation: reservation)
        await #expect(throws: DriverError.self) { try await test.driver.removeSource(request) }
        #expect(FileManager.default.fileExists(atPath: test.lab.layout.vmDirectory("early", on: "host-a")))
      }
    }

    @Test("a running VM is shut down through the ACPI power button before a cold move, and is refused while running")
    func shutdownFirst() async throws {
      let vm = labVM("runner", disks: [Disk(datastore: "local-host-a", size: .mib(16))])
      try await TestLab.with(vms: [vm]) { test in
        _ = try await test.lab.waitForGuest(vm: "runner", on: "host-a")
        // No disk listed: the local disk moves anyway, since host-b cannot reach it.
        let request = MigrationRequest(vm: "runner", from: "host-a", to: "host-b", kind: .cold)
        await #expect(throws: DriverError.self) { try await test.driver.reserve(request) }

        let started = Date()
        try await test.driver.shutdown(vm: "runner", on: "host-a", timeout: .seconds(20))
        #expect(Date().timeIntervalSince(started) < 15, "the guest powered off by itself, well before the timeout")
        let console = try String(contentsOfFile: test.lab.layout.consoleLog("runner", on: "host-a"), encoding: .utf8)
        #expect(console.contains("power button"))
        #expect(try await test.driver.locate(vm: "runner") == [VMPlacement(host: "host-a", state: .stopped)])

        let reservation = try await test.driver.reserve(request)
        _ = try await test.driver.copyFiles(request, reservation: reservation)
        try await test.driver.register(request, reservation: reservation)
        try await test.driver.removeSource(request)
        try await test.driver.start(vm: "runner", on: "host-b")
        #expect(try await test.driver.locate(vm: "runner") == [VMPlacement(host: "host-b", state: .running)])
        let disk = test.lab.layout.mount("local-host-b", on: "host-b") + "/runner-disk0.qcow2"
        #expect(FileManager.default.fileExists(atPath: disk))
        #expect(try await test.driver.inventory().vm(named: "runner")?.disks.map(\.datastore) == ["local-host-b"])
      }
    }
  }
}
