import BallastEngine
import BallastHistory
import BallastTestSupport
import Foundation
import Testing

/// Two `balance --loop` processes on one PostgreSQL database over one simulated cluster (a
/// shared `--state` file): one leads, the other stands by and takes over when the leader is
/// killed or paused; and a loop that outlives a restart of the PostgreSQL server.
@Suite("high availability on PostgreSQL (end to end)", .serialized)
struct HighAvailabilityProcessTests {
  /// How long the lead and each round's migration lease last without renewal.
  static let lease = 6.0
  /// The loop's interval (real seconds: the rounds are `--pace` apart on the cluster's clock).
  static let interval = 1.0

  /// A folder with the demo cluster, a policy that acts at once, and a database of its own.
  struct Setup {
    let server: PostgresTestServer
    let database: String
    let folder: URL

    /// A setup on `server` (the shared one by default) for `body`: a new database and folder,
    /// both removed when `body` ends, also when it throws.
    static func with(_ server: PostgresTestServer? = nil, _ body: (Setup) async throws -> Void) async throws {
      let server = if let server { server } else { try await PostgresTestServer.shared() }
      let database = try await server.makeDatabase()
      let setup: Setup
      do {
        setup = try Setup(server: server, database: database)
      } catch {
        await server.dropDatabase(database)
        throw error
      }
      do {
        try await body(setup)
      } catch {
        await setup.remove()
        throw error
      }
      await setup.remove()
    }

    private init(server: PostgresTestServer, database: String) throws {
      self.server = server
      self.database = database
      folder = try BallastProcess.temporaryFolder()
      try FileManager.default.copyItem(
        at: BallastProcess.repositoryRoot.appendingPathComponent("clusters/demo.yaml"),
        to: folder.appendingPathComponent("demo.yaml"))
      try "name: fast\nholdFor: 0s\nmonitor: {interval: 1s}\n".write(
        to: folder.appendingPathComponent("fast.yaml"), atomically: true, encoding: .utf8)
    }

    var url: String { server.url(database: database) }

    /// `balance --loop` on the shared database and state file; each stage at least half a
    /// second (2 virtual seconds per step at `--pace 4`).
    func startLoop(
      _ name: String, lease: Double = HighAvailabilityProcessTests.lease
    ) throws
      -> BallastProcess.Background
    {
      try BallastProcess.Background(
        [
          "balance", "--loop", "--cluster", "demo.yaml", "--policy", "fast.yaml", "--db", url, "--state",
          "state.json", "--interval", "1s", "--lease", "\(Int(lease))s", "--pace", "4",
        ], in: folder, environment: ProcessWorkspace.timings, name: name)
    }

    func store() async throws -> HistoryStore {
      try await HistoryStore.open(HistoryTarget(url, environment: [:]))
    }

    func sql(_ query: String) async throws -> String { try await server.sql(query, database: database) }

    /// The process id of the loop that leads now.
    func leaderPID() async throws -> Int32? {
      Int32(try await sql("SELECT pid FROM loop_leaders WHERE released_at IS NULL"))
    }

    func state() throws -> SimulatedState {
      try #require(try FileStateStore(path: folder.appendingPathComponent("state.json").path).load())
    }

    func remove() async {
      await server.dropDatabase(database)
      try? FileManager.default.removeItem(at: folder)
    }
  }

  /// Query: a live move's pre-copy under way (intent written, no outcome yet).
  static let preCopyUnderWay = """
    SELECT count(*) FROM stages s JOIN moves m ON m.id = s.move_id
    WHERE m.ended_at IS NULL AND s.stage = 'preCopy' AND s.intent_at IS NOT NULL AND s.ended_at IS NULL
    """

  /// Starts a loop, waits until it leads, then a second one, and waits until it stands by.
  static func startLeaderAndStandby(
    _ setup: Setup
  ) async throws -> (BallastProcess.Background, BallastProcess.Background) {
    let first = try setup.startLoop("a")
    #expect(await first.wait(upTo: 60) { first.stderr.contains("leading the balancing") }, "\(first.stderr)")
    let second: BallastProcess.Background
    do {
      second = try setup.startLoop("b")
    } catch {
      kill([first])
      throw error
    }
    #expect(await second.wait(upTo: 30) { second.stderr.contains("standing by") }, "\(second.stderr)")
    return (first, second)
  }

  /// Kills (by process id) what a test started and left running, paused ones included.
  static func kill(_ processes: [BallastProcess.Background]) {
    for process in processes where process.process.isRunning {
      process.signal(SIGCONT)
      process.signal(SIGKILL)
    }
  }

  /// The simulated cluster as the loops left it: every VM runs on exactly one host.
  static func expectEveryVMOnOneHost(_ setup: Setup) throws {
    let state = try setup.state()
    #expect(state.violations().isEmpty, "\(state.violations())")
    for vm in state.cluster.vms {
      #expect(state.instances(of: vm.name).filter(\.owner).count == 1, "\(vm.name)")
    }
    #expect(state.reservations.isEmpty)
  }

  /// Stops what a test started, by process id, also when it failed.
  static func stop(_ processes: [BallastProcess.Background]) async {
    for process in processes where process.process.isRunning {
      process.signal(SIGCONT)
      process.signal(SIGTERM)
    }
    for process in processes where process.process.isRunning {
      if await process.waitForExit(upTo: 30) == nil { process.signal(SIGKILL) }
    }
  }

  @Test(.timeLimit(.minutes(3)))
  func theStandbyTakesOverAfterSIGKILLReconcilesAndContinues() async throws {
    try await Setup.with { setup in
      let (first, second) = try await Self.startLeaderAndStandby(setup)
      defer { Self.kill([first, second]) }

      // SIGKILL the leader in the middle of a live migration.
      let caught = await setup.server.poll(Self.preCopyUnderWay, database: setup.database, within: 90)
      try #require(caught != nil, "no live migration seen under way: \(first.stderr)")
      let leader = try #require(try await setup.leaderPID())
      try #require(leader == first.process.processIdentifier, "the first loop should lead: \(second.stderr)")
      let killedAt = Date()
      first.signal(SIGKILL)
      _ = await first.waitForExit(upTo: 10)
      let inFlight = try await setup.sql("SELECT id FROM moves WHERE started_at IS NOT NULL AND ended_at IS NULL")
      #expect(!inFlight.isEmpty, "the killed leader left no move in flight")
      // The standby has not moved anything before the kill: it sampled nothing and moved nothing.
      #expect(!second.stderr.contains("move ended"), "\(second.stderr)")

      let tookOver = await second.wait(upTo: 60) { second.stderr.contains("taking over from") }
      let takeover = Date().timeIntervalSince(killedAt)
      print("takeover after SIGKILL: \(String(format: "%.1f", takeover)) s (lease \(Self.lease) s)")
      try #require(tookOver, "\(second.stderr)")
      #expect(second.stderr.contains("taking over from balance --loop pid \(leader)"))
      // Within the lease's expiry plus one interval, and some slack for a busy machine.
      #expect(takeover < Self.lease + Self.interval + 10)

      // It reconciles what the killed leader left, then goes on balancing.
      let store = try await setup.store()
      defer { Task { await store.close() } }
      let movesBefore = Int(try await setup.sql("SELECT count(*) FROM moves WHERE started_at IS NOT NULL")) ?? 0
      #expect(await second.wait(upTo: 60) { second.stderr.contains("reconciled:") }, "\(second.stderr)")
      let continued = await setup.server.poll(
        "SELECT count(*) >= \(movesBefore + 1) FROM moves WHERE ended_at IS NOT NULL AND outcome = 'completed' "
          + "AND id > \(inFlight.split(separator: "\n").last.map(String.init) ?? "0")",
        database: setup.database, within: 60)
      #expect(
        continued != nil || second.stderr.contains("nothing to do"), "no move after the takeover: \(second.stderr)")

      await Self.stop([second])
      #expect(second.process.terminationStatus == 0, "\(second.stderr)")

      // The journal is closed; every VM runs on exactly one host.
      #expect(try await store.unfinishedMoves(cluster: "demo").isEmpty)
      for id in inFlight.split(separator: "\n").compactMap({ Int64($0) }) {
        let detail = try #require(try await store.migration(id: id))
        #expect(detail.migration.outcome == .rolledBack || detail.migration.outcome == .completed, "\(detail)")
        #expect(detail.stages.allSatisfy { $0.outcome != nil })
      }
      try Self.expectEveryVMOnOneHost(setup)
      try await Self.expectNoOverlapBetweenHolders(setup)
    }
  }

  @Test(.timeLimit(.minutes(3)))
  func aPausedLeaderIsFencedOutWhenItResumesAndStandsDown() async throws {
    try await Setup.with { setup in
      let (first, second) = try await Self.startLeaderAndStandby(setup)
      defer { Self.kill([first, second]) }

      let caught = await setup.server.poll(Self.preCopyUnderWay, database: setup.database, within: 90)
      try #require(caught != nil, "no live migration seen under way: \(first.stderr)")
      let epoch = try #require(Int64(try await setup.sql("SELECT epoch FROM cluster_leases WHERE released_at IS NULL")))
      first.signal(SIGSTOP)

      // Past its lease the standby takes over and settles the paused leader's move.
      #expect(await second.wait(upTo: 60) { second.stderr.contains("taking over from") }, "\(second.stderr)")
      #expect(await second.wait(upTo: 60) { second.stderr.contains("reconciled:") }, "\(second.stderr)")
      // Rows last written under the paused leader's epoch (the new holder's reconcile takes some over).
      let written = """
        SELECT (SELECT count(*) FROM stages WHERE lease_epoch = \(epoch)) + (SELECT count(*) FROM moves WHERE lease_epoch = \(epoch))
          + (SELECT count(*) FROM plans WHERE lease_epoch = \(epoch))
        """
      let before = try #require(Int(try await setup.sql(written)))

      first.signal(SIGCONT)
      // Its next journal write is refused by the fencing token, and it stands down.
      #expect(
        await first.wait(upTo: 60) { first.stderr.contains("refused a write made under lease epoch \(epoch)") },
        "\(first.stderr)")
      #expect(await first.wait(upTo: 60) { first.stderr.contains("standing by") }, "\(first.stderr)")
      #expect(first.process.isRunning)
      // Nothing was written under its old lease after the takeover.
      #expect(try #require(Int(try await setup.sql(written))) <= before)
      #expect(first.stderr.contains("without touching VM"), "\(first.stderr)")

      await Self.stop([first, second])
      #expect(first.process.terminationStatus == 0, "\(first.stderr)")
      #expect(second.process.terminationStatus == 0, "\(second.stderr)")
      let store = try await setup.store()
      #expect(try await store.unfinishedMoves(cluster: "demo").isEmpty)
      await store.close()
      try Self.expectEveryVMOnOneHost(setup)
      try await Self.expectNoOverlapBetweenHolders(setup)
    }
  }

  @Test(.timeLimit(.minutes(3)))
  func aLoopOutlivesARestartOfPostgreSQLWithoutLosingOrDuplicatingEntries() async throws {
    let server = try await PostgresTestServer.start()
    do {
      try await Setup.with(server) { setup in
        let loop = try setup.startLoop("a", lease: 15)
        defer { if loop.process.isRunning { loop.signal(SIGKILL) } }
        let caught = await server.poll(Self.preCopyUnderWay, database: setup.database, within: 90)
        try #require(caught != nil, "no live migration seen under way: \(loop.stderr)")

        await server.stop()
        #expect(await loop.wait(upTo: 30) { loop.stderr.contains("unreachable, retrying") }, "\(loop.stderr)")
        try await server.restart()
        #expect(await loop.wait(upTo: 60) { loop.stderr.contains("answers again") }, "\(loop.stderr)")
        // It goes on: a move completes after the outage.
        let ended = try await setup.sql("SELECT coalesce(max(id), 0) FROM moves WHERE ended_at IS NOT NULL")
        let more = await server.poll(
          "SELECT count(*) FROM moves WHERE ended_at IS NOT NULL AND id > \(ended)", database: setup.database,
          within: 60)
        #expect(more != nil || loop.stderr.contains("nothing to do"), "\(loop.stderr)")
        #expect(loop.process.isRunning, "\(loop.stderr)")
        await Self.stop([loop])
        #expect(loop.process.terminationStatus == 0, "\(loop.stderr)")

        // Nothing lost: every started move ended, every stage attempt closed. Nothing twice: one
        // attempt per stage of each move (the simulation retries none), one plan per round.
        #expect(
          try await setup.sql("SELECT count(*) FROM moves WHERE started_at IS NOT NULL AND ended_at IS NULL") == "0")
        #expect(try await setup.sql("SELECT count(*) FROM stages WHERE ended_at IS NULL") == "0")
        #expect(
          try await setup.sql(
            "SELECT count(*) FROM (SELECT 1 FROM stages GROUP BY move_id, stage HAVING count(*) > 1) d") == "0")
        #expect(
          try await setup.sql(
            "SELECT count(*) FROM (SELECT 1 FROM moves GROUP BY plan_id, position HAVING count(*) > 1) d")
            == "0")
        let moved = Int(try await setup.sql("SELECT count(*) FROM moves WHERE outcome = 'completed'")) ?? 0
        let lines = loop.stderr.components(separatedBy: "\n").filter {
          $0.contains("outcome=completed") && $0.contains("move ended")
        }
        #expect(moved == lines.count, "journal \(moved) completed moves, log \(lines.count)")
        try Self.expectEveryVMOnOneHost(setup)
      }
    } catch {
      await server.remove()
      throw error
    }
    await server.remove()
  }

  /// No two moves of the cluster overlap in time under different holders: a move belongs to
  /// the holder whose plan started it (`plans.lease_epoch`), and runs from its start to its
  /// end (a move the holder left in flight ends when the next holder reconciles it).
  static func expectNoOverlapBetweenHolders(_ setup: Setup) async throws {
    let overlaps = try await setup.sql(
      """
      SELECT count(*) FROM moves a JOIN plans pa ON pa.id = a.plan_id, moves b JOIN plans pb ON pb.id = b.plan_id
      WHERE pa.lease_epoch < pb.lease_epoch AND a.started_at IS NOT NULL AND b.started_at IS NOT NULL
        AND coalesce(a.ended_at, 'infinity') > b.started_at
      """)
    #expect(overlaps == "0")
    #expect(
      Int(try await setup.sql("SELECT count(DISTINCT lease_epoch) FROM plans WHERE lease_epoch IS NOT NULL")) ?? 0 >= 2)
  }
}
