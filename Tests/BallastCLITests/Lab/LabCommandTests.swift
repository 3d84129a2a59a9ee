import BallastEngine
import BallastHistory
import BallastModel
import BallastQEMU
import Foundation
import Testing

/// The commands on a real QEMU lab: `balance --loop`, `drain`, `migrate` killed and
/// `reconcile`, CPU refusals. One test at a time (each brings its own small lab up and down).
@Suite(
  "Commands on a QEMU lab", .serialized, .enabled(if: LabAvailability.installed, LabAvailability.reason),
  .timeLimit(.minutes(3)))
struct LabCommandTests {
  /// A policy that acts on CPU only, at once.
  static let fastPolicy = """
    version: 1
    name: fast
    weights: {cpu: 1, memory: 0}
    threshold: 0.2
    holdFor: 0s
    cooldown: 10m
    maxMovesPerRound: 1
    downtimeLimit: 500ms
    liveIneligible: cold
    monitor: {interval: 2s, window: 4s, method: mean, staleAfter: 30s}

    """

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

      let ack = try await lab.lab().setLoad(vm: "hot", duty: 90)
      #expect(ack.dutyPercent == 90)
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
      #expect(rounds().contains { $0["decision"] as? String == "executed" && $0["done"] as? Int == 1 })

      loop.signal(SIGTERM)
      let status = await loop.waitForExit(upTo: 30)
      #expect(status == 0, "\(loop.stderr)")
      for vm in ["hot", "calm", "idle"] {
        let running = try lab.hostsRunning(vm)
        #expect(running.count == 1, "\(vm) runs on \(running)")
      }
    }
  }
}
