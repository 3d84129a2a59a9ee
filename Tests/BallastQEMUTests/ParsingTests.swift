import BallastDriverSupport
import BallastEngine
import BallastModel
import Foundation
import Testing

@testable import BallastQEMU

@Suite("Reading what QEMU and the guest report")
struct ParsingTests {
  static func json(_ text: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
  }

  @Test("JSON values keep 64-bit integers exact and round-trip")
  func jsonValues() throws {
    let value = try Self.json(#"{"a": 9007199254740993, "b": 1.5, "c": [true, null, "x"], "d": {"e": -3}}"#)
    #expect(value["a"]?.int == 9_007_199_254_740_993)
    #expect(value["b"]?.double == 1.5)
    #expect(value["b"]?.int == nil)
    #expect(value["c"]?.array == [.bool(true), .null, .string("x")])
    #expect(value["d"]?["e"]?.int == -3)
    #expect(value["missing"] == nil)
    let encoded = try JSONEncoder().encode(value)
    #expect(try JSONDecoder().decode(JSONValue.self, from: encoded) == value)
  }

  @Test("query-migrate figures, including the port of an incoming migration on port 0")
  func migrationInfo() throws {
    let active = MigrationInfo(
      try Self.json(
        #"""
        {"status": "active", "total-time": 1234, "expected-downtime": 40, "cpu-throttle-percentage": 30,
         "ram": {"transferred": 1000, "remaining": 200, "total": 67108864, "dirty-sync-count": 3,
                 "dirty-pages-rate": 512, "page-size": 4096, "mbps": 80.5}}
        """#))
    #expect(active.status == .active)
    #expect(active.transferred == 1000 && active.remaining == 200 && active.total == 67_108_864)
    #expect(active.dirtySyncCount == 3)
    #expect(active.throttlePercent == 30)
    #expect(active.isInProgress)
    let incoming = MigrationInfo(
      try Self.json(#"{"status": "setup", "socket-address": [{"type": "inet", "host": "127.0.0.1", "port": "41085"}]}"#)
    )
    #expect(incoming.listeningPort == 41085)
    let failed = MigrationInfo(try Self.json(#"{"status": "failed", "error-desc": "Unable to write to socket"}"#))
    #expect(!failed.isInProgress)
    #expect(failed.errorDescription == "Unable to write to socket")
  }

  @Test("the guest's status block from the monitor's xp output")
  func guestStatus() throws {
    let output = """
      0000000000300000: 0x54534c42 0x00000001 0x00000002 0x0000abcd\r
      0000000000300010: 0x000003e8 0x00001000 0x00000200 0x00000032\r
      0000000000300020: 0x00000007 0x00000000\r

      """
    let status = try #require(GuestStatus(monitorOutput: output))
    #expect(status.state == .running)
    #expect(status.dirtiedPages == 0xABCD)
    #expect(status.ticks == 1000)
    #expect(status.workingSetPages == 4096)
    #expect(status.ratePagesPerSecond == 512)
    #expect(status.dutyPercent == 50)
    #expect(status.passes == 7)
    #expect(status.commands == nil, "a version 1 guest has no control port")
    #expect(GuestStatus(monitorOutput: "0000000000300000: 0x54534c42 0x00000001") == nil)
    #expect(GuestStatus(monitorOutput: "0000000000300000: 0x00000000 0x00000000 0x00000000 0x00000000") == nil)
    let current = output.replacingOccurrences(of: "0x00000001 0x00000002", with: "0x00000002 0x00000002")
      .replacingOccurrences(of: "0x00000007 0x00000000", with: "0x00000007 0x00000003")
    #expect(try #require(GuestStatus(monitorOutput: current)).commands == 3)
  }

  @Test("a load change becomes one control line and updates the definition's workload")
  func loadChange() {
    let change = GuestLoadChange(dutyPercent: 130, dirtyRate: .mbPerSecond(8), workingSet: .mib(4))
    #expect(change.controlLine == "duty=100 rate=8000000 ws=4194304\n")
    #expect(GuestLoadChange(dutyPercent: 90).controlLine == "duty=90\n")
    #expect(GuestLoadChange(dirtyRate: .mbPerSecond(1e6)).controlLine == "rate=4294967295\n", "the guest is 32-bit")
    let before = GuestWorkload(workingSetBytes: 1 << 20, dirtyBytesPerSecond: nil, dutyPercent: 10, fillBytes: 5)
    let after = GuestLoadChange(dutyPercent: 90).applied(to: before)
    #expect(after == GuestWorkload(workingSetBytes: 1 << 20, dirtyBytesPerSecond: nil, dutyPercent: 90, fillBytes: 5))
    #expect(change.applied(to: before).commandLine == "ws=4194304 rate=8000000 duty=100 fill=5")
  }

  @Test("the guest's acknowledgement is the last complete `set` line on its console")
  func loadAck() {
    let console = """
      ballast-guest: mem=64M ws=4194304 rate=1000000 duty=10 fill=4194304
      ballast-guest: set ws=4194304 rate=2000000 duty=90 commands=1
      ballast-guest: t=3000 dirtied=100 passes=1
      ballast-guest: set ws=8388608 rate=0(max) duty=50 commands=2
      ballast-guest: set ws=1 rate=1 duty=1 comm
      """.replacingOccurrences(of: "comm\n", with: "comm")
    #expect(
      GuestLoadAck.last(in: console)
        == GuestLoadAck(workingSetBytes: 8 << 20, dirtyBytesPerSecond: nil, dutyPercent: 50, commands: 2))
    #expect(GuestLoadAck.last(in: "ballast-guest: running\n") == nil)
    #expect(GuestLoadAck.last(in: "ballast-guest: set ws=1 rate=1 duty=1 commands=1") == nil, "not a whole line yet")
  }

  @Test("a cluster file's VM becomes the guest's command line")
  func workload() {
    let vm = VM(
      name: "w", host: "h", vcpus: 1, memory: .mib(64), cpuModel: "qemu64", usage: Usage(cpu: 0.05, memory: 0),
      dirtyRate: .mbPerSecond(50), workingSet: .mib(32))
    let workload = GuestWorkload(vm: vm)
    #expect(workload.commandLine == "ws=33554432 rate=50000000 duty=10 fill=33554432")
    #expect(
      GuestWorkload(workingSetBytes: 1, dirtyBytesPerSecond: nil, dutyPercent: 150).commandLine.contains(
        "rate=max duty=100"))
  }

  @Test("incoming QEMU gets the same machine, CPU, memory and devices, paused and deferred")
  func commandLine() {
    let definition = VMDefinition(
      name: "vm1", powerState: .running, vcpus: 2, memoryBytes: 64 * 1_048_576, cpuModel: "EPYC-Rome",
      disks: [DiskImage(datastore: "shared", file: "vm1.qcow2", sizeBytes: 1 << 24)], workload: .idle,
      mac: VMDefinition.mac(for: "vm1"))
    let layout = LabLayout(root: "/lab")
    let line = QEMUCommandLine(
      definition: definition, host: "b", layout: layout, options: QEMULabOptions(), kernel: "/lab/guest/k.elf")
    let run = line.arguments(.run)
    let incoming = line.arguments(.incoming)
    #expect(Array(incoming.prefix(run.count)) == run)
    #expect(Array(incoming.dropFirst(run.count)) == ["-S", "-incoming", "defer"])
    #expect(run.contains("EPYC-Rome") && run.contains("64M") && run.contains("tcg"))
    #expect(
      run.contains("file=/lab/hosts/b/datastores/shared/vm1.qcow2,format=qcow2,if=virtio,index=0,cache=writeback"))
    #expect(run.contains("unix:/lab/hosts/b/vms/vm1/qmp.sock,server=on,wait=off"))
    #expect(run.contains("unix:/lab/hosts/b/vms/vm1/monitor.sock,server=on,wait=off"), "a monitor for looking")
    // COM1 the console (a file), COM2 the guest's control port (a socket in this host's VM folder).
    let serials = run.indices.filter { run[$0] == "-serial" }.map { run[$0 + 1] }
    #expect(serials == ["file:/lab/hosts/b/vms/vm1/console.log", "chardev:control"])
    #expect(run.contains("socket,id=control,path=/lab/hosts/b/vms/vm1/control.sock,server=on,wait=off"))
    #expect(VMDefinition.mac(for: "vm1") == VMDefinition.mac(for: "vm1"))
    #expect(VMDefinition.mac(for: "vm1") != VMDefinition.mac(for: "vm2"))
  }

  @Test("KVM only when asked for; the environment selects it")
  func accelerator() {
    #expect(QEMULabOptions.fromEnvironment([:]).accelerator == .tcg)
    #expect(QEMULabOptions.fromEnvironment(["BALLAST_QEMU_ACCEL": "KVM"]).accelerator == .kvm)
    #expect(QEMULabOptions().effectiveAccelerator == .tcg)
  }

  @Test("transparent huge pages stay off unless the environment turns them on")
  func hugePages() {
    #expect(!QEMULabOptions.fromEnvironment([:]).transparentHugePages)
    #expect(QEMULabOptions.fromEnvironment(["BALLAST_QEMU_HUGEPAGES": "on"]).transparentHugePages)
    #expect(!QEMULabOptions.fromEnvironment(["BALLAST_QEMU_HUGEPAGES": "yes please"]).transparentHugePages)
  }
}

@Suite("Pre-copy rounds and convergence from query-migrate readings")
struct LiveTransferRunTests {
  static func reading(
    _ status: String, syncs: Int64, transferred: Int64, remaining: Int64, ms: Int64, throttle: Int64 = 0
  )
    -> MigrationInfo
  {
    MigrationInfo(
      .object([
        "status": .string(status), "total-time": .int(ms), "cpu-throttle-percentage": .int(throttle),
        "ram": [
          "transferred": .int(transferred), "remaining": .int(remaining), "dirty-sync-count": .int(syncs),
          "total": 67_108_864,
        ],
      ]))
  }

  static func settings(_ rule: StopRule = .qemu, maxRounds: Int = 30) -> LiveSettings {
    var convergence = Convergence()
    convergence.stopRule = rule
    convergence.maxRounds = maxRounds
    return LiveSettings(downtimeLimit: .milliseconds(100), bandwidthCap: .mbPerSecond(10), convergence: convergence)
  }

  @Test("each dirty-bitmap sync after setup ends a round, with the bytes and time since the last")
  func rounds() throws {
    var run = LiveTransferRun(settings: Self.settings(), memory: 64e6, bandwidth: 10e6)
    let setup = run.observe(Self.reading("active", syncs: 1, transferred: 5_000_000, remaining: 1, ms: 500))
    #expect(setup == nil)
    let ended = run.observe(Self.reading("active", syncs: 2, transferred: 10_000_000, remaining: 4_000_000, ms: 1000))
    let first = try #require(ended)
    #expect(first.index == 0)
    #expect(first.bytesSent == 10_000_000)
    #expect(first.seconds == 1)
    #expect(first.remaining == 4_000_000)
    let next = run.observe(Self.reading("active", syncs: 3, transferred: 14_000_000, remaining: 1_000_000, ms: 1400))
    let second = try #require(next)
    #expect(second.index == 1)
    #expect(second.bytesSent == 4_000_000)
    #expect(abs(second.bandwidthBytesPerSecond - 10_000_000) < 1)
    // The sync inside the final copy is not a round.
    let final = run.observe(Self.reading("completed", syncs: 4, transferred: 15_000_000, remaining: 0, ms: 1500))
    #expect(final == nil)
    #expect(run.rounds == 2)
  }

  /// 64MiB of RAM of which 12000 zero pages: the first pass sent 64MiB − 12000 × 4KiB of
  /// written pages and 12000 headers of 9 bytes. Read late, `transferred` also counts 1.8MB of
  /// the next round's first burst, which the first round does not report.
  @Test("the first round is what the first pass sent, not the next round's first burst")
  func firstRoundWithoutTheNextBurst() throws {
    var run = LiveTransferRun(settings: Self.settings(), memory: 64e6, bandwidth: 10e6)
    let pass = 67_108_864.0 - 12_000 * 4096 + 12_000 * 9
    let late = MigrationInfo(
      .object([
        "status": "active", "total-time": .int(520),
        "ram": [
          "transferred": .int(Int64(pass) + 1_800_000), "remaining": .int(3_000_000), "dirty-sync-count": .int(2),
          "total": 67_108_864, "duplicate": .int(12_000), "page-size": .int(4096),
        ],
      ]))
    let observed = run.observe(late)
    let round = try #require(observed)
    #expect(round.index == 0)
    #expect(abs(round.bytesSent - pass) < 1)
  }

  /// QEMU answers `migrate-continue` before it leaves `pre-switchover`: a reading taken in
  /// between must not send a second one, which QEMU refuses once in `device` (failing the move).
  @Test("the switchover is continued once, however many readings still show pre-switchover")
  func switchoverContinuedOnce() {
    var run = LiveTransferRun(settings: Self.settings(), memory: 64e6, bandwidth: 10e6)
    let answers = [QEMUMigrationStatus.active, .preSwitchover, .preSwitchover, .device].map {
      run.continuesSwitchover(at: $0)
    }
    #expect(answers == [false, true, false, false])
    #expect(run.switchoverContinued)
  }

  @Test("a migration that stops straight after round 0 (no sync) still reports that round")
  func singleRound() throws {
    var run = LiveTransferRun(settings: Self.settings(), memory: 64e6, bandwidth: 10e6)
    let stop = Self.reading("pre-switchover", syncs: 1, transferred: 9_000_000, remaining: 50_000, ms: 60)
    let observed = run.observe(stop)
    #expect(observed == nil)
    let closed = run.closeRounds(stop)
    let round = try #require(closed)
    #expect(round.index == 0 && round.bytesSent == 9_000_000)
    let again = run.closeRounds(stop)
    #expect(again == nil)
    let result = run.result(Self.reading("completed", syncs: 2, transferred: 9_100_000, remaining: 0, ms: 70))
    #expect(result.rounds == 1)
  }

  @Test("qemu rule: two rounds in which what remains does not shrink mean no convergence")
  func stalls() {
    var run = LiveTransferRun(settings: Self.settings(), memory: 64e6, bandwidth: 10e6)
    var ms: Int64 = 0
    for sync in 2...4 {
      ms += 400
      _ = run.observe(
        Self.reading("active", syncs: Int64(sync), transferred: Int64(sync) * 4_000_000, remaining: 4_000_000, ms: ms))
    }
    #expect(run.rounds == 3)
    #expect(run.watch.notConverging)
    #expect(run.watch.abortReason().contains("after 3 rounds"))
  }

  @Test("shrinking rounds converge; the round cap and the xen total cap stop it")
  func caps() {
    var shrinking = LiveTransferRun(settings: Self.settings(), memory: 64e6, bandwidth: 10e6)
    var capped = LiveTransferRun(settings: Self.settings(maxRounds: 3), memory: 64e6, bandwidth: 10e6)
    var xen = LiveTransferRun(settings: Self.settings(.xen), memory: 10e6, bandwidth: 10e6)
    for (i, remaining) in [8_000_000, 4_000_000, 2_000_000].enumerated() {
      let reading = Self.reading(
        "active", syncs: Int64(i + 2), transferred: Int64(12_000_000 * (i + 1)), remaining: Int64(remaining),
        ms: Int64(1000 * (i + 1)))
      _ = shrinking.observe(reading)
      _ = capped.observe(reading)
      _ = xen.observe(reading)
    }
    #expect(!shrinking.watch.notConverging)
    #expect(capped.watch.notConverging)
    #expect(xen.watch.notConverging, "36 MB sent for a 10 MB guest is past 3 × memory")
  }
}

@Suite("QEMU's states and QMP's error classes as enums; every failure a DriverError")
struct QEMUStatesTests {
  @Test("migration statuses and run states read from QEMU's names; unknown names are kept apart")
  func states() {
    #expect(QEMUMigrationStatus(reported: "pre-switchover") == .preSwitchover)
    #expect(QEMUMigrationStatus(reported: nil) == .notStarted)
    #expect(QEMUMigrationStatus(reported: "none") == .notStarted)
    #expect(QEMUMigrationStatus(reported: "something-new") == .unknown)
    #expect(
      QEMUMigrationStatus.allCases.filter(\.isInProgress).map(\.rawValue).sorted() == [
        "active", "cancelling", "device", "pre-switchover", "setup", "wait-unplug",
      ])
    #expect(QEMURunState(reported: "postmigrate") == .postmigrate)
    #expect(QEMURunState(reported: "finish-migrate") == .finishMigrate)
    #expect("\(QEMURunState.finishMigrate)" == "finish-migrate")
    #expect(QEMURunState(reported: nil) == .unknown)
  }

  @Test("QMP error classes from QEMU's names; the connection's are not QEMU's")
  func errorClasses() {
    #expect(QMPErrorClass(qemu: "CommandNotFound") == .commandNotFound)
    #expect(QMPErrorClass(qemu: "SomethingNew") == .otherQEMU("SomethingNew"))
    #expect(QMPErrorClass.genericError.isFromQEMU)
    #expect(![QMPErrorClass.disconnected, .timeout, .socketError].contains { $0.isFromQEMU })
  }

  @Test("anything the driver's steps throw becomes a DriverError saying whether a retry can help")
  func wrapping() {
    func wrapped(_ error: any Error) -> DriverError {
      QEMUDriver.wrap(error, vm: "web", host: "host-a", doing: "activation")
    }
    let qmp = { (errorClass: QMPErrorClass) in
      QMPError(command: "cont", errorClass: errorClass, message: "m", socket: "/s")
    }
    #expect(wrapped(qmp(.timeout)).kind == .transient)
    #expect(wrapped(qmp(.disconnected)).kind == .unreachable)
    #expect(wrapped(qmp(.socketError)).kind == .unreachable)
    #expect(wrapped(qmp(.genericError)).kind == .refused)
    let file = wrapped(CocoaError(.fileNoSuchFile))
    #expect(file.kind == .failed)
    #expect(file.vm == "web" && file.host == "host-a")
    #expect(file.message.hasPrefix("activation failed"))
    let kept = DriverError(vm: "web", "as it was", kind: .refused)
    #expect(wrapped(kept) == kept)
    #expect(wrapped(CancellationError()).message.contains("cancelled"))
  }
}
