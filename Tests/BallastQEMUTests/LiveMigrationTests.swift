import BallastEngine
import BallastModel
import BallastTestSupport
import Foundation
import Testing

@testable import BallastQEMU

extension QEMUIntegration {
  @Suite("Live migration of running QEMU VMs")
  struct LiveMigrationTests {
    /// 16 MiB at 20 MB/s: round 0 takes ~0.8 s, the 4 MB/s guest dirties ~3 MB meanwhile,
    /// more than the 50 ms × 20 MB/s = 1 MB the limit allows, so there is a second round.
    static let settings = LiveSettings(
      downtimeLimit: .milliseconds(50), bandwidthCap: .mbPerSecond(20), convergence: Convergence())

    @Test("a dirtying VM moves through reserve, transfer, commit, activate and keeps running")
    func liveMigration() async throws {
      let vm = labVM(
        "mover", workingSet: .mib(16), dirtyRate: .mbPerSecond(4), cpu: 0.3,
        disks: [Disk(datastore: "shared", size: .mib(32))])
      try await TestLab.with(vms: [vm]) { test in
        let driver = test.driver
        let before = try await test.lab.waitForGuest(vm: "mover", on: "host-a")
        let measured = try await driver.measureDirtyRate(vm: "mover")
        #expect(measured.bytesPerSecond > 0, "QEMU measured no dirtying")
        #expect(try await driver.inventory().vm(named: "mover")?.dirtyRate.bytesPerSecond == measured.bytesPerSecond)

        let request = MigrationRequest(vm: "mover", from: "host-a", to: "host-b", kind: .live)
        let reservation = try await driver.reserve(request)
        #expect(
          Set(try await driver.locate(vm: "mover"))
            == [VMPlacement(host: "host-a", state: .running), VMPlacement(host: "host-b", state: .incoming)])

        let log = EventLog()
        let result = try await driver.transfer(reservation, settings: Self.settings) { await log.append($0) }
        let rounds = await log.rounds
        #expect(result.rounds >= 2, "rounds: \(rounds)")
        // Rounds shorter than a poll are reported together, under the last one's index.
        #expect(rounds.last?.index == result.rounds - 1)
        #expect(rounds.map(\.index) == rounds.map(\.index).sorted())
        #expect(rounds.first?.bytesSent ?? 0 > 16_000_000, "round 0 sends the filled working set")
        #expect(await log.stopAndCopyAnnounced)
        #expect(result.downtimeMs > 0)
        #expect(result.totalSeconds > 0)
        #expect(result.bytesSent > 16 * 1_048_576, "at least the filled working set crossed the wire")
        #expect(
          Set(try await driver.locate(vm: "mover"))
            == [VMPlacement(host: "host-a", state: .paused), VMPlacement(host: "host-b", state: .paused)])

        try await driver.commit(reservation)
        try await driver.activate(reservation)
        #expect(try await driver.locate(vm: "mover") == [VMPlacement(host: "host-b", state: .running)])
        // The guest stays stopped from QEMU's pause through commitment until activation
        // resumes it: its outage is longer than the downtime QEMU reports.
        let outage = try #require(await driver.outage(of: reservation), "STOP and RESUME were timed")
        #expect(outage * 1000 >= result.downtimeMs - 1, "outage \(outage) s, QEMU's downtime \(result.downtimeMs) ms")
        #expect(outage < 5)
        #expect(await driver.outage(of: reservation) == nil, "told once")
        #expect(!FileManager.default.fileExists(atPath: test.lab.layout.vmDirectory("mover", on: "host-a")))

        let after = try #require(await test.lab.guestStatus(vm: "mover", on: "host-b"))
        #expect(after.dirtiedPages >= before.dirtiedPages, "the guest's memory came along")
        #expect(after.ticks >= before.ticks)
        let moved = await eventually(timeout: 10) {
          (try? await test.lab.guestStatus(vm: "mover", on: "host-b"))?.dirtiedPages ?? 0 > after.dirtiedPages
        }
        #expect(moved, "the dirtying counter keeps going up on the destination")
        let cluster = try await driver.inventory()
        #expect(cluster.vm(named: "mover")?.host == "host-b")
        #expect(cluster.vm(named: "mover")?.state == .running)
      }
    }
  }
}

extension QEMUIntegration {
  @Suite("Live migration failures and refusals")
  struct LiveFailureTests {
    @Test("killing the destination QEMU during pre-copy leaves the VM running on its source")
    func destinationKilled() async throws {
      let vm = labVM("victim", workingSet: .mib(16), dirtyRate: .mbPerSecond(8), cpu: 0.3)
      try await TestLab.with(vms: [vm]) { test in
        let driver = test.driver
        let before = try await test.lab.waitForGuest(vm: "victim", on: "host-a")
        let request = MigrationRequest(vm: "victim", from: "host-a", to: "host-b", kind: .live)
        let reservation = try await driver.reserve(request)
        let destination = try #require(test.lab.instance(vm: "victim", on: "host-b"))
        // 4 MB/s: round 0 alone takes about 4 s.
        let settings = LiveSettings(
          downtimeLimit: .milliseconds(100), bandwidthCap: .mbPerSecond(4), convergence: Convergence())
        let transfer = Task { try await driver.transfer(reservation, settings: settings) { _ in } }
        let underway = await eventually(timeout: 10) {
          let info = try? await test.lab.execute("query-migrate", vm: "victim", on: "host-a")
          return (info?["ram"]?["transferred"]?.int ?? 0) > 1_000_000
        }
        #expect(underway)
        kill(destination.pid, SIGKILL)
        let error = await #expect(throws: DriverError.self) { try await transfer.value }
        #expect(error?.message.contains("destination") == true, "\(String(describing: error))")

        #expect(test.lab.instance(vm: "victim", on: "host-a") != nil)
        let placements = try await driver.locate(vm: "victim")
        #expect(placements.contains(VMPlacement(host: "host-a", state: .running)))
        try await driver.resumeOnSource(reservation)
        try await driver.release(reservation)
        #expect(try await driver.locate(vm: "victim") == [VMPlacement(host: "host-a", state: .running)])
        let later = await eventually(timeout: 10) {
          (try? await test.lab.guestStatus(vm: "victim", on: "host-a"))?.dirtiedPages ?? 0 > before.dirtiedPages
        }
        #expect(later, "the guest keeps dirtying on its source")
      }
    }

    @Test("cancelling a transfer (Ctrl-C, abort policy) cancels the migration and resumes the source")
    func cancelled() async throws {
      let vm = labVM("stopper", workingSet: .mib(16), dirtyRate: .mbPerSecond(8), cpu: 0.3)
      try await TestLab.with(vms: [vm]) { test in
        let driver = test.driver
        _ = try await test.lab.waitForGuest(vm: "stopper", on: "host-a")
        let request = MigrationRequest(vm: "stopper", from: "host-a", to: "host-b", kind: .live)
        let reservation = try await driver.reserve(request)
        let settings = LiveSettings(
          downtimeLimit: .milliseconds(100), bandwidthCap: .mbPerSecond(4), convergence: Convergence())
        let transfer = Task { try await driver.transfer(reservation, settings: settings) { _ in } }
        let underway = await eventually(timeout: 10) {
          let info = try? await test.lab.execute("query-migrate", vm: "stopper", on: "host-a")
          return info?["status"]?.string == "active"
        }
        #expect(underway)
        transfer.cancel()
        let error = await #expect(throws: DriverError.self) { try await transfer.value }
        #expect(error?.message.contains("cancelled") == true, "\(String(describing: error))")
        let status = try await test.lab.execute("query-migrate", vm: "stopper", on: "host-a")
        #expect(status["status"]?.string == "cancelled")
        try await driver.release(reservation)
        #expect(try await driver.locate(vm: "stopper") == [VMPlacement(host: "host-a", state: .running)])
      }
    }

    @Test(
      "rolled back after the transfer completed (before commitment): the VM takes its disk back and runs on its source")
    func rollbackAfterCompletion() async throws {
      let vm = labVM(
        "undo", workingSet: .mib(4), dirtyRate: .mbPerSecond(2), disks: [Disk(datastore: "shared", size: .mib(16))])
      try await TestLab.with(vms: [vm]) { test in
        let driver = test.driver
        let before = try await test.lab.waitForGuest(vm: "undo", on: "host-a")
        let request = MigrationRequest(vm: "undo", from: "host-a", to: "host-b", kind: .live)
        let reservation = try await driver.reserve(request)
        _ = try await driver.transfer(reservation, settings: LiveMigrationTests.settings) { _ in }
        #expect(try await test.lab.execute("query-status", vm: "undo", on: "host-a")["status"]?.string == "postmigrate")
        // The reconciler's empty token, as after a crash.
        let recovered = Reservation(request: request, token: "")
        try await driver.resumeOnSource(recovered)
        try await driver.release(recovered)
        #expect(try await driver.locate(vm: "undo") == [VMPlacement(host: "host-a", state: .running)])
        let later = await eventually(timeout: 10) {
          (try? await test.lab.guestStatus(vm: "undo", on: "host-a"))?.dirtiedPages ?? 0 > before.dirtiedPages
        }
        #expect(later, "the guest goes on on its source")
      }
    }

    @Test("a VM whose CPU model the destination lacks is refused live migration, with the reason")
    func cpuRefused() async throws {
      let vm = labVM("avx", cpuModel: "Cascadelake-Server", disks: [Disk(datastore: "shared", size: .mib(16))])
      try await TestLab.with(hostCPUModels: ["Cascadelake-Server", "EPYC-Rome"], vms: [vm]) { test in
        let problems = try await test.driver.liveMigrationProblems(vm: "avx", to: "host-b")
        #expect(problems.map(\.check) == [.cpuCompatibility])
        #expect(problems.first?.reason.contains("avx512f") == true)
        let request = MigrationRequest(vm: "avx", from: "host-a", to: "host-b", kind: .live)
        let error = await #expect(throws: DriverError.self) { try await test.driver.reserve(request) }
        #expect(error?.message.contains("EPYC-Rome") == true)
        #expect(!FileManager.default.fileExists(atPath: test.lab.layout.vmDirectory("avx", on: "host-b")))
        #expect(try await test.driver.locate(vm: "avx") == [VMPlacement(host: "host-a", state: .running)])
      }
    }

    @Test("a VM with a disk on a datastore the destination does not mount is refused live migration")
    func storageRefused() async throws {
      let vm = labVM("pinned", disks: [Disk(datastore: "local-host-a", size: .mib(16))])
      try await TestLab.with(vms: [vm]) { test in
        let problems = try await test.driver.liveMigrationProblems(vm: "pinned", to: "host-b")
        #expect(problems.map(\.check) == [.storage])
        #expect(problems.first?.reason.contains("local-host-a") == true)
        let request = MigrationRequest(vm: "pinned", from: "host-a", to: "host-b", kind: .live)
        await #expect(throws: DriverError.self) { try await test.driver.reserve(request) }
        #expect(try await test.driver.locate(vm: "pinned") == [VMPlacement(host: "host-a", state: .running)])
      }
    }
  }
}
