import BallastEngine
import BallastModel
import BallastTestSupport
import Foundation
import Testing

@testable import BallastLibvirt

/// Records a transfer's events.
actor TransferLog {
  private(set) var rounds: [PreCopyRound] = []
  private(set) var stopAndCopyAnnounced = false

  func append(_ event: TransferEvent) {
    switch event {
    case .round(let round): rounds.append(round)
    case .stopAndCopyStarting: stopAndCopyAnnounced = true
    }
  }
}

extension LibvirtLabTests {
  @Test func liveMigrationMovesARunningGuestWhichKeepsRunningOnItsDestination() async throws {
    try await LibvirtTestLab.with { lab in
      let driver = lab.driver
      let before = try await lab.waitForGuest("web-1", on: "lab-1")
      let request = MigrationRequest(vm: "web-1", from: "lab-1", to: "lab-2", kind: .live)
      let reservation = try await driver.reserve(request)
      let log = TransferLog()
      let settings = LiveSettings(
        downtimeLimit: .milliseconds(50), bandwidthCap: .mbPerSecond(8), convergence: Convergence())
      let result = try await driver.transfer(reservation, settings: settings) { await log.append($0) }
      #expect(result.rounds >= 1)
      #expect(result.downtimeMs > 0, "downtime from libvirt's completed job")
      #expect(result.bytesSent > 16 * 1_048_576, "at least the filled working set crossed the wire")
      #expect(await log.stopAndCopyAnnounced)
      #expect(!(await log.rounds).isEmpty, "pre-copy rounds from the job's memory_iteration")
      // libvirt committed: the source is gone, the destination holds the VM, paused.
      #expect(try await driver.locate(vm: "web-1") == [VMPlacement(host: "lab-2", state: .paused)])
      try await driver.commit(reservation)
      try await driver.activate(reservation)
      #expect(try await driver.locate(vm: "web-1") == [VMPlacement(host: "lab-2", state: .running)])
      // The guest stayed paused from libvirt's Finish until activation resumed it.
      let outage = try #require(await driver.outage(of: reservation), "the outage is estimated")
      #expect(outage * 1000 > result.downtimeMs, "outage \(outage) s, libvirt's downtime \(result.downtimeMs) ms")
      #expect(outage < 10)
      #expect(await driver.outage(of: reservation) == nil, "told once")
      let after = try #require(try await lab.lab.guestStatus(vm: "web-1", on: "lab-2"))
      #expect(after.dirtiedPages >= before.dirtiedPages, "the guest's memory came along")
      let rising = await eventually(timeout: 10) {
        (try? await lab.lab.guestStatus(vm: "web-1", on: "lab-2"))?.dirtiedPages ?? 0 > after.dirtiedPages
      }
      #expect(rising, "the guest's counter keeps rising on the destination")
      let cluster = try await driver.inventory()
      #expect(cluster.vm(named: "web-1")?.host == "lab-2")
    }
  }

  @Test func killingTheDestinationDaemonDuringPreCopyLeavesTheVMRunningOnItsSource() async throws {
    try await LibvirtTestLab.with { lab in
      let driver = lab.driver
      let before = try await lab.waitForGuest("db-1", on: "lab-1")
      let request = MigrationRequest(vm: "db-1", from: "lab-1", to: "lab-2", kind: .live)
      let reservation = try await driver.reserve(request)
      // 2 MB/s: round 0 alone takes many seconds.
      let settings = LiveSettings(
        downtimeLimit: .milliseconds(50), bandwidthCap: .mbPerSecond(2), convergence: Convergence())
      let transfer = Task { try await driver.transfer(reservation, settings: settings) { _ in } }
      let source = try LibvirtConnection.open(try #require(lab.lab.layout.uri("lab-1")))
      let underway = await eventually(timeout: 30) {
        let job = try? source.domain(named: "db-1")?.jobStats()
        return (job?.number("memory_processed") ?? 0) > 1_000_000
      }
      #expect(underway)
      let pidFile = try #require(lab.lab.layout.pidFile("lab-2"))
      let pid = try #require(
        Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
      kill(pid, SIGKILL)
      await #expect(throws: DriverError.self) { try await transfer.value }
      try await driver.resumeOnSource(reservation)
      let state = try #require(try source.domain(named: "db-1")).state()
      #expect(DomainStatus(state: state.state, reason: state.reason, job: nil).isRunning)
      let rising = await eventually(timeout: 10) {
        (try? await lab.lab.guestStatus(vm: "db-1", on: "lab-1"))?.dirtiedPages ?? 0 > before.dirtiedPages
      }
      #expect(rising, "the guest keeps running on its source")
    }
  }

  @Test func coldMoveCopiesALocalDiskVerifiedAndRemovesTheSourceOnlyAfter() async throws {
    try await LibvirtTestLab.with { lab in
      let driver = lab.driver
      let cluster = try await driver.inventory()
      let vm = try #require(cluster.vm(named: "batch-1"))
      #expect(vm.state == .stopped)
      let disk = try #require(vm.disks.first)
      let sourcePath = try #require(disk.path)
      let request = MigrationRequest(vm: "batch-1", from: "lab-2", to: "lab-1", kind: .cold, disksToCopy: [disk])
      let reservation = try await driver.reserve(request)
      let copied = try await driver.copyFiles(request, reservation: reservation)
      let name = URL(fileURLWithPath: sourcePath).lastPathComponent
      #expect(copied.checksums.keys.sorted() == [name])
      #expect(copied.bytes > 0)
      #expect(FileManager.default.fileExists(atPath: sourcePath), "the source disk stays until commitment")
      try await driver.register(request, reservation: reservation)
      #expect(
        Set(try await driver.locate(vm: "batch-1"))
          == [VMPlacement(host: "lab-2", state: .stopped), VMPlacement(host: "lab-1", state: .stopped)])
      try await driver.removeSource(request)
      #expect(!FileManager.default.fileExists(atPath: sourcePath), "the source volume goes at commitment")
      #expect(try await driver.locate(vm: "batch-1") == [VMPlacement(host: "lab-1", state: .stopped)])
      let moved = try #require(try await driver.inventory().vm(named: "batch-1"))
      #expect(moved.disks.map(\.datastore) == ["local@lab-1"])
      let newPath = try #require(moved.disks.first?.path)
      let checksum = try await Libvirt.run("hashing") {
        let connection = try LibvirtConnection.open(lab.lab.layout.uri("lab-1") ?? "")
        guard let volume = try connection.volume(path: newPath) else { return "" }
        return try VolumeCopy.checksum(volume, on: connection)
      }
      #expect(checksum == copied.checksums[name], "the destination's disk has the source's bytes")
      try await driver.start(vm: "batch-1", on: "lab-1")
      #expect(try await driver.locate(vm: "batch-1") == [VMPlacement(host: "lab-1", state: .running)])
    }
  }

  @Test func libvirtRefusesALiveMoveToAHostWhoseRealCPUCannotRunTheVM() async throws {
    // lab-3 without a declared generation: libvirt compares with this machine's CPU, which is
    // not an Intel Cascade Lake with AVX-512 under TCG's eyes... unless it is: then skip.
    let edit: (String) -> String = { text in
      text.replacingOccurrences(of: "    memory: 384MiB\n    cpuModel: Broadwell\n", with: "    memory: 384MiB\n")
    }
    try await LibvirtTestLab.with(edit: edit) { lab in
      let request = MigrationRequest(vm: "db-1", from: "lab-1", to: "lab-3", kind: .live)
      let verdict = try await lab.driver.cpuRefusal(vm: "db-1", from: "lab-1", to: "lab-3")
      if let verdict {
        let error = await #expect(throws: DriverError.self) { try await lab.driver.reserve(request) }
        #expect(error?.message.contains("CPU") == true, "\(String(describing: error)) / \(verdict)")
        #expect(try await lab.driver.locate(vm: "db-1") == [VMPlacement(host: "lab-1", state: .running)])
      }
      // web-1 (Broadwell) fits this machine: libvirt accepts it.
      #expect(try await lab.driver.cpuRefusal(vm: "web-1", from: "lab-1", to: "lab-3") == nil)
    }
  }
}
