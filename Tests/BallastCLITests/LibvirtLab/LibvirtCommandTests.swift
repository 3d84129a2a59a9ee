import BallastDriverSupport
import BallastEngine
import BallastHistory
import BallastModel
import BallastRuntime
import BallastTestSupport
import Foundation
import Testing

/// The commands on a real libvirt lab (clusters/libvirt-lab.yaml: three session daemons), as an
/// operator runs them. One test at a time; each brings its own lab up and down.
@Suite(
  "Commands on a libvirt lab", .serialized, .enabled(if: LibvirtLabAvailability.ready, LibvirtLabAvailability.reason),
  .timeLimit(.minutes(20)))
struct LibvirtCommandTests {
  /// CPU only, acting at once.
  static let fastPolicy = LabPolicies.fast(threshold: 0.25)

  /// 4 MB/s cap: web-1's 16 MiB working set takes seconds to send.
  static let slowPolicy =
    fastPolicy.replacingOccurrences(of: "name: fast", with: "name: slow") + "bandwidthCap: 32Mbit/s\n"

  @Test("discover writes a snapshot validate accepts; status shows each VM's measured CPU; validate checks rule names")
  func discoverAndStatus() async throws {
    try await LibvirtLabWorkspace.with(policy: Self.fastPolicy) { lab in
      try #require(await lab.dirtiedPasses("web-1", on: "lab-1", 0), "web-1's guest never ran")
      let discover = try await lab.run(["discover", "--cluster", "cluster.yaml", "-o", "snapshot.yaml"])
      #expect(discover.status == 0, "\(discover.stdout) \(discover.stderr)")
      #expect(discover.stderr.contains("Discovered 3 hosts, 5 VMs (4 running)"), "\(discover.stderr)")
      let validate = try await lab.run(["validate", "--cluster", "snapshot.yaml"])
      #expect(validate.status == 0, "\(validate.stdout) \(validate.stderr)")
      let snapshot = try ClusterFile.load(path: lab.folder.appendingPathComponent("snapshot.yaml").path)
      #expect(snapshot.driver == .simulated)
      #expect(snapshot.vm(named: "cache-1")?.disks.first?.datastore == "local@lab-1")
      let plan = try await lab.run(["plan", "--cluster", "snapshot.yaml", "--json"])
      #expect(plan.status == 0, "a snapshot plans offline: \(plan.stderr)")
      // By URI alone: hosts are named as their daemons name them.
      let uris = try ["lab-1", "lab-2"].map { try #require(lab.lab.layout.uri($0)) }
      let byURI = try await lab.run(["discover", "--name", "by-uri"] + uris.flatMap { ["--uri", $0] })
      #expect(byURI.status == 0, "\(byURI.stderr)")
      #expect(byURI.stderr.contains("Discovered 2 hosts, 5 VMs"), "\(byURI.stderr)")
      #expect(byURI.stdout.contains("name: by-uri\n"), "\(byURI.stdout)")
      for host in ["ballast-lab-1", "ballast-lab-2"] {
        #expect(byURI.stdout.contains("- name: \(host)\n"), "\(host) in \(byURI.stdout)")
      }

      let status = try await lab.run(["status", "--vms", "--json"] + LibvirtLabWorkspace.labFiles)
      #expect(status.status == 0, "\(status.stdout) \(status.stderr)")
      let report = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
      let vms = try #require(report["vms"] as? [[String: Any]])
      let cpu = Dictionary(uniqueKeysWithValues: vms.map { ($0["name"] as? String ?? "", $0["cpu"] as? Double ?? -1) })
      #expect(Set(cpu.keys) == ["web-1", "db-1", "cache-1", "batch-1", "idle-1"])
      #expect(cpu["web-1"] ?? 0 > 0.05, "web-1's guest is busy 20 % of the time: \(cpu)")
      #expect(cpu["batch-1"] == 0, "batch-1 is off")

      // A rule naming a VM the daemons do not have: the file is valid offline, not against them.
      let withRule =
        try String(contentsOf: lab.folder.appendingPathComponent("cluster.yaml"), encoding: .utf8)
        + "rules:\n  - {name: pair, type: antiAffinity, vms: [web-1, ghost-9]}\n"
      try withRule.write(to: lab.folder.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)
      let offline = try await lab.run(["validate", "--cluster", "rules.yaml", "--offline"])
      #expect(offline.status == 0, "\(offline.stdout) \(offline.stderr)")
      let online = try await lab.run(["validate", "--cluster", "rules.yaml", "--json"])
      #expect(online.status == 1, "\(online.stdout)")
      let result = try #require(try JSONSerialization.jsonObject(with: Data(online.stdout.utf8)) as? [String: Any])
      let errors = try #require(result["errors"] as? [[String: Any]])
      #expect(errors.count == 1, "\(online.stdout)")
      #expect((errors.first?["message"] as? String)?.contains("ghost-9") == true, "\(online.stdout)")
      #expect((errors.first?["line"] as? Int ?? 0) > 0, "the rule's line: \(online.stdout)")
    }
  }

  @Test(
    "migrate --live moves a running VM through libvirt (its guest keeps going); history has libvirt's downtime; a CPU the destination lacks is refused"
  )
  func migrateLive() async throws {
    try await LibvirtLabWorkspace.with(policy: Self.fastPolicy) { lab in
      try #require(await lab.dirtiedPasses("web-1", on: "lab-1", 0), "web-1's guest never ran")
      let before = try #require(await lab.dirtied("web-1", on: "lab-1"))
      let moved = try await lab.run(
        ["migrate", "web-1", "--to", "lab-2", "--live", "--json"] + LibvirtLabWorkspace.files)
      #expect(moved.status == 0, "\(moved.stdout) \(moved.stderr)")
      #expect(try await lab.placements("web-1") == [VMPlacement(host: "lab-2", state: .running)])
      #expect(await lab.dirtiedPasses("web-1", on: "lab-2", before), "the counter goes on rising on lab-2")
      let record = try #require(try await lab.store().migrations().first { $0.vm == "web-1" })
      #expect(record.kind == .live && record.outcome == .completed, "\(record)")
      let measured = try #require(record.measured)
      #expect(measured.downtimeMs > 0 && measured.bytes > 16_000_000, "from libvirt's job statistics: \(measured)")
      #expect(record.predicted.downtimeMs > 0)

      let refused = try await lab.run(["migrate", "db-1", "--to", "lab-3", "--live"] + LibvirtLabWorkspace.files)
      #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
      let why = refused.stdout + refused.stderr
      #expect(why.contains("Broadwell") && why.contains("avx512"), "the missing CPU features are named: \(why)")
      #expect(try await lab.placements("db-1") == [VMPlacement(host: "lab-1", state: .running)])
    }
  }

  @Test("drain empties a host holding live, cold-running and stopped VMs")
  func drain() async throws {
    let edit: (String) -> String = { text in
      text.replacingOccurrences(
        of: "  - name: batch-1           # off: moves cold, stays off\n    host: lab-2",
        with: "  - name: batch-1\n    host: lab-1")
    }
    try await LibvirtLabWorkspace.with(edit: edit, policy: Self.fastPolicy) { lab in
      try #require(await lab.dirtiedPasses("web-1", on: "lab-1", 0), "web-1's guest never ran")
      let cacheDisk = try #require(try await lab.driver.inventory().vm(named: "cache-1")?.disks.first?.path)
      let drain = try await lab.run(["drain", "lab-1", "--json"] + LibvirtLabWorkspace.files)
      #expect(drain.status == 0, "\(drain.stdout) \(drain.stderr)")
      let cluster = try await lab.driver.inventory()
      #expect(cluster.vms.filter { $0.host == "lab-1" }.isEmpty, "lab-1 still holds VMs")
      let states = try await lab.store().latestHostStates(cluster: "libvirt-lab")
      #expect(states["lab-1"]?.maintenance == true, "the drain put lab-1 in maintenance: \(states)")
      for vm in ["web-1", "db-1", "cache-1", "batch-1", "idle-1"] {
        let found = try await lab.placements(vm)
        #expect(found.count == 1, "\(vm) is \(found)")
        #expect(found.first?.state == (vm == "batch-1" ? .stopped : .running), "\(vm) is \(found)")
      }
      #expect(!FileManager.default.fileExists(atPath: cacheDisk), "cache-1's local disk left lab-1 after the copy")
      let moves = Dictionary(
        try await lab.store().migrations().filter { $0.outcome != nil }.map { ($0.vm, $0) },
        uniquingKeysWith: { a, _ in a })
      #expect(Set(moves.keys) == ["web-1", "db-1", "cache-1", "batch-1"])
      for (vm, kind, shutdown) in [
        ("web-1", MigrationKind.live, false), ("db-1", .live, false), ("cache-1", .cold, true),
        ("batch-1", .cold, false),
      ] {
        let move = try #require(moves[vm])
        #expect(move.outcome == .completed && move.kind == kind && move.requiresShutdown == shutdown, "\(move)")
      }
      #expect(moves["db-1"]?.to == "lab-2", "db-1 (Cascadelake) cannot go live to lab-3 (Broadwell)")
    }
  }

  @Test("balance --loop moves a VM off the host whose guest got busy (lab load); SIGTERM exits 0")
  func loopMovesOffAHotHost() async throws {
    try await LibvirtLabWorkspace.with(policy: Self.fastPolicy) { lab in
      let loop = try lab.start(["balance", "--loop", "--interval", "2s", "--json"] + LibvirtLabWorkspace.files)
      defer { if loop.process.isRunning { loop.signal(SIGKILL) } }
      func rounds() -> [[String: Any]] {
        loop.stdout.split(separator: "\n").compactMap {
          try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
      }
      let started = await loop.wait(upTo: 60) { rounds().count >= 2 }
      try #require(started, "the loop did not run 2 rounds: \(loop.stdout) \(loop.stderr)")
      let load = try await lab.run(["lab", "load", "web-1", "--duty", "95"] + LibvirtLabWorkspace.labFiles)
      #expect(load.status == 0 && load.stdout.contains("duty 95 %"), "\(load.stdout) \(load.stderr)")
      let store = try lab.store()
      let moved = try await loop.wait(upTo: 90) { try await store.migrations().contains { $0.outcome == .completed } }
      try #require(moved, "no move within 90 s: \(loop.stdout) \(loop.stderr)")
      let move = try #require(try await store.migrations().first { $0.outcome == .completed })
      #expect(move.from == "lab-1", "\(move)")
      #expect(try await lab.placements(move.vm) == [VMPlacement(host: move.to, state: .running)])
      loop.signal(SIGTERM)
      #expect(await loop.waitForExit(upTo: 60) == 0, "\(loop.stderr)")
    }
  }

  @Test(
    "ballast SIGKILLed during a live migration, then reconcile: the VM runs exactly once",
    arguments: ["direct", "peerToPeer"])
  func killedDuringLiveMigration(mode: String) async throws {
    let edit: (String) -> String = { $0.replacingOccurrences(of: "  mode: direct", with: "  mode: \(mode)") }
    try await LibvirtLabWorkspace.with(edit: edit, policy: Self.slowPolicy) { lab in
      try #require(await lab.dirtiedPasses("web-1", on: "lab-1", 0), "web-1's guest never ran")
      let migrate = try lab.start(
        ["migrate", "web-1", "--to", "lab-2", "--live", "--json"] + LibvirtLabWorkspace.files)
      defer { if migrate.process.isRunning { migrate.signal(SIGKILL) } }
      // The atomic switchover journals pre-copy, stop-and-copy and commitment before libvirt's call.
      let underway = await StageWatcher.wait(for: "commitment", in: lab.databasePath, within: 60)
      try #require(underway, "the migration never began: \(migrate.stdout) \(migrate.stderr)")
      try await Task.sleep(for: .seconds(2))
      migrate.signal(SIGKILL)
      _ = await migrate.waitForExit(upTo: 10)

      let reconcile = try await lab.run(["reconcile", "--json"] + LibvirtLabWorkspace.files)
      #expect(reconcile.status == 0, "\(reconcile.stdout) \(reconcile.stderr)")
      let placements = try await lab.placements("web-1")
      #expect(placements.count == 1 && placements.first?.state == .running, "web-1 is \(placements)")
      let host = try #require(placements.first?.host)
      let counter = await lab.dirtied("web-1", on: host) ?? 0
      #expect(await lab.dirtiedPasses("web-1", on: host, counter), "web-1's guest runs on \(host)")
      let record = try #require(try await lab.store().migrations().first { $0.vm == "web-1" })
      #expect(record.outcome == (host == "lab-1" ? .rolledBack : .completed), "\(record) with web-1 on \(host)")
    }
  }

  @Test("calibrate on the libvirt lab: whole first passes (the learner's touched memory), both pauses, learning")
  func calibrate() async throws {
    // calibrate runs throwaway copies of the lab beside its labRoot; the lab itself stays down.
    try await LibvirtLabWorkspace.with(policy: Self.fastPolicy, up: false) { lab in
      // Outside a checkout: the guest kernel comes from BALLAST_GUEST_KERNEL.
      let kernel = try await GuestKernel.build(
        source: BallastProcess.repositoryRoot.appendingPathComponent("guest").path,
        output: lab.folder.appendingPathComponent("guest").path)
      // 16 MB/s under a 32 MB/s cap: the first pass is followed by a round long enough for the
      // driver's 100 ms polls to see it begin (at 4 MB/s the migration could converge and end
      // between two polls, leaving the first round unknown, and not learned from).
      let run = try await lab.run(
        ["calibrate"] + LibvirtLabWorkspace.labFiles + [
          "--rates", "16", "--caps", "32", "--migrations", "3", "--link", "1GB/s", "--json",
        ], environment: ["BALLAST_GUEST_KERNEL": kernel])
      try #require(run.status == 0, "\(run.stdout) \(run.stderr)")
      let report = try JSONDecoder().decode(CalibrationReport.self, from: Data(run.stdout.utf8))
      let point = try #require(report.points.first)
      try #require(point.failure == nil, "\(point.failure ?? "")")
      #expect(point.migrations.map(\.from) == ["lab-1", "lab-2", "lab-1"])
      for migration in point.migrations {
        let observation = try #require(migration.observation, "#\(migration.number): \(migration.failure ?? "")")
        // The guest fills a 16 MiB working set: round 0 sends at least that.
        #expect((observation.firstRoundBytes ?? 0) > 15e6, "#\(migration.number): \(observation.firstRoundBytes ?? 0)")
        let hypervisor = try #require(observation.hypervisorDowntimeSeconds)
        #expect(observation.downtimeSeconds > hypervisor, "the guest's outage runs until Ballast resumes it")
      }
      #expect(point.migrations.last?.learnedFigures ?? 0 > 0)
    }
  }
}
