import BallastEngine
import BallastHistory
import BallastModel
import BallastQEMU
import BallastTestSupport
import Foundation
import Testing

/// The commands on a real QEMU lab: `balance --loop`, `drain`, `migrate` killed and
/// `reconcile`, CPU refusals. One test at a time (each brings its own small lab up and down).
@Suite(
  "Commands on a QEMU lab", .serialized, .enabled(if: QEMUAvailability.installed, QEMUAvailability.reason),
  .timeLimit(.minutes(20)))
struct LabCommandTests {
  /// A policy that acts on CPU only, at once.
  static let fastPolicy = LabPolicies.fast(threshold: 0.2)

  @Test(
    "a VM whose CPU model the destination lacks is refused live, with the reason; liveIneligible: cold moves it cold")
  func cpuRefusedLiveMovesCold() async throws {
    let hosts = [
      LabWorkspace.host("host-a", local: "local-a"), LabWorkspace.host("host-b", cpu: "EPYC-Rome", local: "local-b"),
    ]
    let vms = [LabWorkspace.vm("avx", on: "host-a")]
    try await LabWorkspace.with(hosts: hosts, vms: vms, policy: Self.fastPolicy) { lab in
      let refused = try await lab.run(["migrate", "avx", "--to", "host-b", "--live", "--json"] + LabWorkspace.files)
      #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
      let why = refused.stdout + refused.stderr
      #expect(why.contains("avx512"), "the missing CPU features are named: \(why)")
      #expect(why.contains("EPYC-Rome"), "\(why)")
      #expect(try lab.hostsRunning("avx") == ["host-a"])
      #expect(try lab.hostsHolding("avx") == ["host-a"])

      let moved = try await lab.run(["migrate", "avx", "--to", "host-b", "--json"] + LabWorkspace.files)
      #expect(moved.status == 0, "\(moved.stdout) \(moved.stderr)")
      #expect(try lab.hostsRunning("avx") == ["host-b"])
      #expect(try lab.hostsHolding("avx") == ["host-b"])
      #expect(try await lab.dirtiedPasses("avx", on: "host-b", 0), "the guest booted again on host-b and dirties")

      let record = try #require(try await lab.store().migrations().first { $0.vm == "avx" && $0.outcome != nil })
      #expect(record.kind == .cold && record.requiresShutdown)
      #expect(record.outcome == .completed, "\(record)")
      #expect(record.reason.contains("avx512"), "the history says why it went cold: \(record.reason)")
      let measured = try #require(record.measured)
      #expect(measured.downtimeMs > 0, "a cold move of a running VM has an outage")
    }
  }

  @Test("drain empties a lab host of live, cold-running and stopped VMs; history has each move's kind and figures")
  func drain() async throws {
    let hosts = [
      LabWorkspace.host("host-a", local: "local-a"), LabWorkspace.host("host-b", local: "local-b"),
      LabWorkspace.host("host-c", local: "local-c"),
    ]
    let vms = [
      LabWorkspace.vm("web", on: "host-a", dirtyRate: "4MB/s", workingSet: "8MiB"),
      LabWorkspace.vm("cache", on: "host-a", disk: "local-a"),
      LabWorkspace.vm("batch", on: "host-a", disk: "local-a", state: "stopped"),
      LabWorkspace.vm("other", on: "host-b"),
    ]
    try await LabWorkspace.with(hosts: hosts, vms: vms, policy: Self.fastPolicy) { lab in
      try #require(await lab.dirtiedPasses("web", on: "host-a", 0), "web's guest never reported")
      let before = try #require(try lab.dirtied("web", on: "host-a"))
      let drain = try await lab.run(["drain", "host-a", "--json"] + LabWorkspace.files)
      #expect(drain.status == 0, "\(drain.stdout) \(drain.stderr)")

      let layout = try lab.lab().layout
      #expect(layout.vmNames(on: "host-a").isEmpty, "host-a still holds \(layout.vmNames(on: "host-a"))")
      for vm in ["web", "cache", "batch", "other"] {
        let holding = try lab.hostsHolding(vm)
        #expect(holding.count == 1, "\(vm) is on \(holding)")
        #expect(try lab.hostsRunning(vm) == (vm == "batch" ? [] : holding), "\(vm)")
      }
      let webHost = try #require(try lab.hostsRunning("web").first)
      #expect(try await lab.dirtiedPasses("web", on: webHost, before), "web's counter keeps going on \(webHost)")
      // cache's local disk went along and was removed from local-a only after the copy was verified.
      let cacheHost = try #require(try lab.hostsHolding("cache").first)
      let local = cacheHost == "host-b" ? "local-b" : "local-c"
      #expect(FileManager.default.fileExists(atPath: layout.mount(local, on: cacheHost) + "/cache-disk0.qcow2"))
      #expect(!FileManager.default.fileExists(atPath: layout.mount("local-a", on: "host-a") + "/cache-disk0.qcow2"))

      let moves = Dictionary(
        try await lab.store().migrations().filter { $0.outcome != nil }.map { ($0.vm, $0) },
        uniquingKeysWith: { a, _ in a })
      #expect(Set(moves.keys) == ["web", "cache", "batch"])
      for (vm, kind, shutdown) in [("web", MigrationKind.live, false), ("cache", .cold, true), ("batch", .cold, false)]
      {
        let move = try #require(moves[vm])
        #expect(move.from == "host-a" && move.outcome == .completed, "\(move)")
        #expect(move.kind == kind && move.requiresShutdown == shutdown, "\(vm): \(move.kind) \(move.requiresShutdown)")
        #expect(move.predicted.seconds > 0, "\(vm) predicted \(move.predicted)")
        let measured = try #require(move.measured, "\(vm) has no measured figures")
        #expect(measured.seconds > 0, "\(vm) measured \(measured)")
        if kind == .live {
          #expect(measured.rounds >= 1 && measured.downtimeMs > 0 && measured.bytes > 4_000_000, "\(measured)")
        }
        if shutdown { #expect(measured.downtimeMs > 0, "cache was off while it moved: \(measured)") }
      }
    }
  }

  @Test("balance --loop moves a VM off a host whose guest raised its duty cycle; SIGTERM exits 0")
  func loopMovesOffAHotHost() async throws {
    let hosts = [LabWorkspace.host("host-a", local: "local-a"), LabWorkspace.host("host-b", local: "local-b")]
    let vms = [
      LabWorkspace.vm("hot", on: "host-a"), LabWorkspace.vm("calm", on: "host-a"),
      LabWorkspace.vm("idle", on: "host-b"),
    ]
    try await LabWorkspace.with(hosts: hosts, vms: vms, policy: Self.fastPolicy) { lab in
      let loop = try lab.start(["balance", "--loop", "--interval", "2s", "--json"] + LabWorkspace.files)
      defer { if loop.process.isRunning { loop.signal(SIGKILL) } }
      func rounds() -> [[String: Any]] {
        loop.stdout.split(separator: "\n").compactMap {
          try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
      }
      // A few calm rounds first: ten percent each is no imbalance worth a move.
      let calm = await loop.wait(upTo: 30) { rounds().count >= 3 }
      try #require(calm, "the loop did not run 3 rounds: \(loop.stdout) \(loop.stderr)")
      #expect(rounds().allSatisfy { $0["decision"] as? String == "balanced" }, "\(loop.stdout)")
      #expect(try await lab.store().migrations().isEmpty)

      let load = try await lab.run(["lab", "load", "hot", "--duty", "90"] + LabWorkspace.labFiles)
      #expect(load.status == 0 && load.stdout.contains("duty 90 %"), "\(load.stdout) \(load.stderr)")
      let store = try lab.store()
      let moved = try await loop.wait(upTo: 60) {
        try await store.migrations().contains { $0.outcome != nil }
      }
      try #require(moved, "no move within 60s: \(loop.stdout) \(loop.stderr)")
      let move = try #require(try await store.migrations().first { $0.outcome != nil })
      #expect(move.from == "host-a" && move.to == "host-b", "\(move)")
      #expect(move.outcome == .completed && move.kind == .live, "\(move)")
      #expect(move.measured?.downtimeMs ?? 0 > 0)
      #expect(try lab.hostsRunning(move.vm) == ["host-b"])
      #expect(try lab.hostsHolding(move.vm) == ["host-b"])
      let counter = try lab.dirtied(move.vm, on: "host-b") ?? 0
      #expect(try await lab.dirtiedPasses(move.vm, on: "host-b", counter), "\(move.vm) keeps dirtying on host-b")
      let reported = await loop.wait(upTo: 20) {
        rounds().contains { $0["decision"] as? String == "executed" && $0["done"] as? Int == 1 }
      }
      #expect(reported, "no round reports the move: \(loop.stdout)")

      // Other commands work while the loop runs: status at once, and a migration of the VM the
      // loop moved (whose QEMU monitors the loop used); the loop backs off when it sees it.
      let started = Date()
      let look = try await lab.run(["status", "--json", "--cluster", "lab.yaml", "--policy", "policy.yaml"])
      #expect(Date().timeIntervalSince(started) < 10, "status waited for the loop's monitors")
      let report = try #require(try JSONSerialization.jsonObject(with: Data(look.stdout.utf8)) as? [String: Any])
      let running = (report["hosts"] as? [[String: Any]] ?? []).map {
        ($0["name"] as? String, $0["vmsRunning"] as? Int)
      }
      #expect(
        running.map(\.0) == ["host-a", "host-b"] && running.map(\.1) == [1, 2], "\(look.stdout) \(look.stderr)")
      let back = try await lab.run(["migrate", move.vm, "--to", "host-a", "--live", "--json"] + LabWorkspace.files)
      #expect(back.status == 0, "\(back.stdout) \(back.stderr)")
      #expect(try lab.hostsRunning(move.vm) == ["host-a"])
      let backedOff = await loop.wait(upTo: 20) { rounds().contains { $0["decision"] as? String == "backingOff" } }
      #expect(backedOff, "the loop did not notice the move: \(loop.stdout)")

      loop.signal(SIGTERM)
      let status = await loop.waitForExit(upTo: 30)
      #expect(status == 0, "\(loop.stderr)")
      for vm in ["hot", "calm", "idle"] {
        let running = try lab.hostsRunning(vm)
        #expect(running.count == 1, "\(vm) runs on \(running)")
      }
    }
  }

  /// A 64 MiB guest rewriting 16 MiB at 2 MB/s behind a 4 MB/s cap: round 0 alone takes about
  /// 4 s, and pre-copy converges under the 500 ms limit after a few more rounds.
  static let slowPolicy =
    fastPolicy.replacingOccurrences(of: "name: fast", with: "name: slow")
    + "bandwidthCap: 32Mbit/s\n"

  static let slowMover = LabWorkspace.vm("mover", on: "host-a", cpu: 0.2, dirtyRate: "2MB/s", workingSet: "16MiB")

  /// `reachesSwitchover`: after Ballast died the source's QEMU went on alone (its bandwidth cap
  /// lifted here) until it paused at the switchover, waiting for the dead process.
  @Test(
    "ballast killed (SIGKILL) during pre-copy, then reconcile: the VM runs once, on its source; history says so",
    arguments: [false, true])
  func killedDuringPreCopy(reachesSwitchover: Bool) async throws {
    let hosts = [LabWorkspace.host("host-a", local: "local-a"), LabWorkspace.host("host-b", local: "local-b")]
    try await LabWorkspace.with(hosts: hosts, vms: [Self.slowMover], policy: Self.slowPolicy) { lab in
      let migrate = try lab.start(["migrate", "mover", "--to", "host-b", "--live", "--json"] + LabWorkspace.files)
      defer { if migrate.process.isRunning { migrate.signal(SIGKILL) } }
      let inPreCopy = await StageWatcher.wait(for: "preCopy", in: lab.databasePath, within: 30)
      try #require(inPreCopy, "pre-copy never began: \(migrate.stdout) \(migrate.stderr)")
      try await Task.sleep(for: .seconds(1))  // QEMU is sending round 0 now
      migrate.signal(SIGKILL)
      _ = await migrate.waitForExit(upTo: 10)
      #expect(migrate.process.terminationReason == .uncaughtSignal)

      let store = try lab.store()
      let killed = try #require(try await store.migrations().first { $0.startedAt != nil && $0.outcome == nil })
      #expect(killed.lastStage == .preCopy, "killed in \(String(describing: killed.lastStage))")
      let qemu = try lab.lab()
      let migration = try await qemu.execute("query-migrate", vm: "mover", on: "host-a")["status"]?.string
      #expect(["active", "pre-switchover"].contains(migration), "the source was migrating: \(migration ?? "-")")
      if reachesSwitchover {
        try await qemu.execute("migrate-set-parameters", ["max-bandwidth": 1_000_000_000], vm: "mover", on: "host-a")
        let paused = await eventually(timeout: 20) {
          let info = try? await qemu.execute("query-migrate", vm: "mover", on: "host-a")
          return info?["status"]?.string == "pre-switchover"
        }
        #expect(paused, "the source never reached the switchover")
        let state = try await qemu.execute("query-status", vm: "mover", on: "host-a")["status"]?.string
        #expect(state != "running", "the source waits, paused, at the switchover: \(state ?? "-")")
      }
      await qemu.connections.closeAll()
      #expect(try lab.hostsHolding("mover") == ["host-a", "host-b"], "the incoming container is there")

      let reconcile = try await lab.run(["reconcile", "--json"] + LabWorkspace.files)
      #expect(reconcile.status == 0, "\(reconcile.stdout) \(reconcile.stderr)")
      #expect(reconcile.stdout.contains("\"resolution\":\"rolledBack\""), "\(reconcile.stdout)")

      #expect(try lab.hostsRunning("mover") == ["host-a"])
      #expect(try lab.hostsHolding("mover") == ["host-a"])
      let state = try await qemu.execute("query-status", vm: "mover", on: "host-a")["status"]?.string
      await qemu.connections.closeAll()
      #expect(state == "running")
      let counter = try lab.dirtied("mover", on: "host-a") ?? 0
      #expect(try await lab.dirtiedPasses("mover", on: "host-a", counter), "the guest keeps dirtying on host-a")

      let detail = try #require(try await store.migration(id: killed.id))
      #expect(detail.migration.outcome == .rolledBack)
      #expect(
        detail.migration.detail?.contains("reconcile") == true
          || detail.stages.contains {
            $0.figures?.note?.contains("reconcile") == true
          }, "\(detail)")
      #expect(detail.stages.allSatisfy { $0.outcome != nil && $0.endedAt != nil }, "\(detail.stages)")
      #expect(try await store.unfinishedMoves(cluster: "test-lab").isEmpty)
    }
  }

  /// Where a Ballast process is killed once QEMU completed the transfer, held there by the
  /// driver's step delay: still in stop-and-copy (not committed: rolled back), in commitment
  /// (the destination is asked to confirm again: completed), in activation (completed).
  struct AfterCompletion: Sendable, CustomTestStringConvertible {
    var stage: MigrationStage
    var delays: String
    var resolution: MoveOutcome
    var testDescription: String { "killed in \(stage.rawValue)" }
    var endsOn: String { resolution == .completed ? "host-b" : "host-a" }
  }

  static let afterCompletion = [
    AfterCompletion(stage: .stopAndCopy, delays: #"{"afterTransfer": 8}"#, resolution: .rolledBack),
    AfterCompletion(stage: .commitment, delays: #"{"commit": 8}"#, resolution: .completed),
    AfterCompletion(stage: .activation, delays: #"{"activate": 8}"#, resolution: .completed),
  ]

  @Test(
    "ballast killed (SIGKILL) after QEMU completed the transfer, before activation, then reconcile: the VM runs once",
    arguments: afterCompletion)
  func killedAfterCompletion(_ kill: AfterCompletion) async throws {
    let hosts = [LabWorkspace.host("host-a", local: "local-a"), LabWorkspace.host("host-b", local: "local-b")]
    let vms = [LabWorkspace.vm("mover", on: "host-a", dirtyRate: "2MB/s", workingSet: "4MiB")]
    try await LabWorkspace.with(hosts: hosts, vms: vms, policy: Self.fastPolicy) { lab in
      try #require(await lab.dirtiedPasses("mover", on: "host-a", 0), "the guest never reported")
      let before = try #require(try lab.dirtied("mover", on: "host-a"))
      let migrate = try lab.start(
        ["migrate", "mover", "--to", "host-b", "--live", "--json"] + LabWorkspace.files,
        environment: [QEMUStepDelays.environmentVariable: kill.delays])
      defer { if migrate.process.isRunning { migrate.signal(SIGKILL) } }
      let caught = await StageWatcher.signal(
        SIGKILL, to: migrate.process.processIdentifier, when: kill.stage.rawValue, in: lab.databasePath, within: 30)
      _ = await migrate.waitForExit(upTo: 10)
      try #require(caught, "never saw \(kill.stage.rawValue) under way: \(migrate.stdout) \(migrate.stderr)")

      // QEMU had finished: the source is done, the destination holds the whole state, paused.
      let qemu = try lab.lab()
      let source = try await qemu.execute("query-status", vm: "mover", on: "host-a")["status"]?.string
      let destination = try await qemu.execute("query-status", vm: "mover", on: "host-b")["status"]?.string
      await qemu.connections.closeAll()
      #expect(
        source == "postmigrate" && destination == "paused", "source \(source ?? "-"), destination \(destination ?? "-")"
      )

      let reconcile = try await lab.run(["reconcile", "--json"] + LabWorkspace.files)
      #expect(reconcile.status == 0, "\(reconcile.stdout) \(reconcile.stderr)")
      #expect(reconcile.stdout.contains("\"resolution\":\"\(kill.resolution.rawValue)\""), "\(reconcile.stdout)")

      #expect(try lab.hostsRunning("mover") == [kill.endsOn])
      #expect(try lab.hostsHolding("mover") == [kill.endsOn])
      let state = try await qemu.execute("query-status", vm: "mover", on: kill.endsOn)["status"]?.string
      await qemu.connections.closeAll()
      #expect(state == "running")
      #expect(try await lab.dirtiedPasses("mover", on: kill.endsOn, before), "the guest goes on from where it was")

      let store = try lab.store()
      let move = try #require(try await store.migrations().first { $0.vm == "mover" })
      let detail = try #require(try await store.migration(id: move.id))
      #expect(detail.migration.outcome == kill.resolution, "\(detail.migration)")
      #expect(detail.stages.allSatisfy { $0.outcome != nil && $0.endedAt != nil }, "\(detail.stages)")
      #expect(detail.stages.contains { $0.stage == kill.stage && $0.figures?.note?.contains("reconcile") == true })
      if kill.resolution == .completed {
        #expect(detail.stages.last?.stage == .activation && detail.stages.last?.outcome == .succeeded)
      }
      #expect(try await store.unfinishedMoves(cluster: "test-lab").isEmpty)
    }
  }

  @Test(
    "SIGTERM during pre-copy of a migrate: onCancel abort leaves the VM on its source, finish completes it",
    arguments: ["abort", "finish"])
  func sigtermDuringPreCopy(onCancel: String) async throws {
    let hosts = [LabWorkspace.host("host-a", local: "local-a"), LabWorkspace.host("host-b", local: "local-b")]
    let policy = Self.slowPolicy + "onCancel: \(onCancel)\n"
    try await LabWorkspace.with(hosts: hosts, vms: [Self.slowMover], policy: policy) { lab in
      let migrate = try lab.start(["migrate", "mover", "--to", "host-b", "--live", "--json"] + LabWorkspace.files)
      defer { if migrate.process.isRunning { migrate.signal(SIGKILL) } }
      let inPreCopy = await StageWatcher.wait(for: "preCopy", in: lab.databasePath, within: 30)
      try #require(inPreCopy, "pre-copy never began: \(migrate.stdout) \(migrate.stderr)")
      try await Task.sleep(for: .seconds(1))
      migrate.signal(SIGTERM)
      let status = await migrate.waitForExit(upTo: 60)
      let endsOn = onCancel == "abort" ? "host-a" : "host-b"
      #expect(status == (onCancel == "abort" ? 1 : 0), "\(migrate.stdout) \(migrate.stderr)")
      #expect(try lab.hostsRunning("mover") == [endsOn])
      #expect(try lab.hostsHolding("mover") == [endsOn])
      let qemu = try lab.lab()
      let state = try await qemu.observe("query-status", vm: "mover", on: endsOn)["status"]?.string
      #expect(state == "running")
      let store = try lab.store()
      let move = try #require(try await store.migrations().first { $0.vm == "mover" })
      #expect(move.outcome == (onCancel == "abort" ? .rolledBack : .completed), "\(move)")
      #expect(try await store.unfinishedMoves(cluster: "test-lab").isEmpty)
    }
  }
}
