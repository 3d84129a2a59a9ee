import BallastService
import Foundation
import Testing

/// `balance --loop --listen` as a real process on the simulated demo cluster, read over real
/// HTTP: metrics consistent with the rounds and the history, health, the status API, SIGTERM.
@Suite("balance --loop --listen", .serialized)
struct EndpointProcessTests {
  /// Waits until the loop has settled (the demo cluster is balanced after its first moves) and
  /// returns `/api/status`.
  static func settled(_ loop: LoopProcess, port: Int) async throws -> [String: Any] {
    var status: [String: Any] = [:]
    let done = try await loop.child.wait(upTo: 90) {
      status = try await loop.get("/api/status", port: port).json()
      let round = status["lastRound"] as? [String: Any]
      let completed = status["roundsCompleted"] as? Int ?? 0
      return round?["decision"] as? String == "balanced" && completed >= 3
    }
    #expect(done, "the loop did not settle: \(status)\n\(loop.child.stderr)")
    return status
  }

  @Test(.timeLimit(.minutes(3)))
  func metricsMatchTheRoundsAndTheHistoryAndSIGTERMStopsServerAndLoop() async throws {
    // Pace 4, not 20: each move stays in flight for seconds of real time, so a machine busy with
    // other suites still scrapes it while it runs.
    let loop = try LoopProcess(folder: try LoopProcess.workspace(), pace: 4)
    do {
      let port = try await loop.port()
      // While the first plan runs: its moves in flight with their stage, and the lease held.
      var moving: [String: Any] = [:]
      let caught = try await loop.child.wait(upTo: 60) {
        let metrics = ExpositionText(try await loop.get("/metrics", port: port).body)
        guard (metrics.value(LoopMetricNames.inFlight) ?? 0) >= 1, metrics.value(LoopMetricNames.leaseHeld) == 1
        else { return false }
        let status = try await loop.get("/api/status", port: port).json()
        moving = (status["movesInFlight"] as? [[String: Any]])?.first ?? [:]
        let lease = status["lease"] as? [String: Any]
        return moving["stage"] is String && lease?["ours"] as? Bool == true
      }
      #expect(caught, "no move in flight with its stage and our lease seen: \(loop.child.stderr)")
      #expect(moving["vm"] is String && moving["from"] is String && moving["to"] is String)
      _ = try await Self.settled(loop, port: port)

      let scrape = try await loop.get("/metrics", port: port)
      #expect(scrape.status == 200)
      #expect(scrape.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
      let metrics = ExpositionText(scrape.body)
      for (name, description) in LoopMetricNames.descriptions {
        #expect(metrics.help[name] == description.help, "\(name) has no HELP")
      }
      if let problems = try await ExternalTool.promtoolProblems(scrape.body) { Issue.record("\(problems)") }

      // The imbalance and every host's bars are what `status --json` computes on the same state.
      let status = try await loop.ballast(
        ["status", "--json"] + LoopProcess.files.filter { $0 != "--db" && $0 != "h.sqlite" })
      #expect(status.status == 0, "\(status.stderr)")
      let report = try HTTP.Answer(status: 200, body: status.stdout).json()
      let imbalance = try #require(report["imbalance"] as? Double)
      let measured = try #require(metrics.value(LoopMetricNames.imbalance, ["kind": "measured"]))
      #expect(abs(measured - imbalance) < 0.0001, "metric \(measured), status \(imbalance)")
      #expect(metrics.value(LoopMetricNames.threshold) == report["threshold"] as? Double)
      let hosts = try #require(report["hosts"] as? [[String: Any]])
      #expect(hosts.count == 5)
      for host in hosts {
        let name = try #require(host["name"] as? String)
        for resource in ["cpu", "memory"] {
          let metric = metrics.value(LoopMetricNames.hostUtilization, ["host": name, "resource": resource])
          let expected = try #require(host[resource] as? Double)
          #expect(abs((metric ?? -1) - expected) < 0.0001, "\(name) \(resource): \(metric ?? -1) vs \(expected)")
        }
        #expect(metrics.value(LoopMetricNames.hostState, ["host": name, "state": "active"]) == 1)
      }

      // Migrations: what the history recorded, counted, timed and summed.
      let history = try await loop.ballast(["history", "--json", "--db", "h.sqlite", "--limit", "1000"])
      let migrations = try #require(
        try HTTP.Answer(status: 200, body: history.stdout).json()["migrations"] as? [[String: Any]])
      let completed = migrations.filter { $0["outcome"] as? String == "completed" }
      #expect(!completed.isEmpty)
      let counted = metrics.series(LoopMetricNames.migrations).filter { $0.labels["outcome"] == "completed" }
        .reduce(0) { $0 + $1.value }
      #expect(Int(counted) == completed.count)
      let bytes = completed.compactMap { ($0["measured"] as? [String: Any])?["bytes"] as? Double }.reduce(0, +)
      let movedBytes = try #require(metrics.value(LoopMetricNames.bytesMoved))
      #expect(abs(movedBytes - bytes) <= bytes * 1e-9 + 1, "\(movedBytes) vs \(bytes)")
      let live = completed.filter { $0["kind"] as? String == "live" }.count
      #expect(metrics.value("ballast_migration_duration_seconds_count", ["kind": "live"]) == Double(live))
      #expect(metrics.value("ballast_migration_downtime_seconds_count", ["kind": "live"]) == Double(live))
      #expect(metrics.value(LoopMetricNames.inFlight) == 0)
      #expect((metrics.value(LoopMetricNames.rounds, ["decision": "executed"]) ?? 0) >= 1)
      #expect((metrics.value(LoopMetricNames.rounds, ["decision": "balanced"]) ?? 0) >= 1)
      #expect(metrics.value(LoopMetricNames.rounds, ["decision": "failed"]) == 0)
      #expect((metrics.value("ballast_plan_duration_seconds_count") ?? 0) >= 1)
      let rounds = metrics.series(LoopMetricNames.rounds).reduce(0) { $0 + $1.value }
      #expect(metrics.value("ballast_round_duration_seconds_count") == rounds)
      let lastRound = try #require(metrics.value(LoopMetricNames.lastRound))
      #expect(abs(lastRound - Date().timeIntervalSince1970) < 30)
      #expect(metrics.value(LoopMetricNames.leaseHeld) == 0)

      // The API: health, readiness, status, history as `history --json`, the page.
      #expect(try await loop.get("/healthz", port: port).status == 200)
      #expect(try await loop.get("/readyz", port: port).status == 200)
      let api = try await loop.get("/api/status", port: port).json()
      #expect(api["cluster"] as? String == "demo")
      #expect((api["hosts"] as? [[String: Any]])?.count == 5)
      #expect((api["movesInFlight"] as? [Any])?.isEmpty == true)
      let apiHistory = try await loop.get("/api/history?limit=1000&since=1h", port: port).json()
      let apiIDs = (apiHistory["migrations"] as? [[String: Any]])?.compactMap { $0["id"] as? Int }
      #expect(apiIDs == migrations.compactMap { $0["id"] as? Int })
      #expect(try await loop.get("/api/history?since=someday", port: port).status == 400)
      #expect(try await loop.get("/api/history?limit=0", port: port).status == 400)
      let chart = try await loop.get("/api/imbalance?since=1h", port: port).json()
      #expect(((chart["points"] as? [Any])?.count ?? 0) >= 2)
      let page = try await loop.get("/", port: port)
      #expect(page.status == 200 && page.body.contains("<title>Ballast</title>"))

      // Read-only: nothing but GET is served.
      for path in ["/api/status", "/metrics", "/api/history", "/"] {
        for method in ["POST", "PUT", "DELETE"] {
          let answer = try await HTTP.request("http://127.0.0.1:\(port)\(path)", method: method)
          #expect(!(200..<300).contains(answer.status), "\(method) \(path) answered \(answer.status)")
        }
      }

      // SIGTERM stops the loop and the server; the process exits 0 and the port is closed.
      loop.child.signal(SIGTERM)
      let exit = await loop.child.exitStatus(within: 60)
      #expect(exit == 0, "\(loop.child.stderr)")
      await #expect(throws: (any Error).self) { try await loop.get("/healthz", port: port) }
    } catch {
      Issue.record("\(error)\n\(loop.child.stderr)")
    }
    await loop.tearDown()
  }

  @Test(.timeLimit(.minutes(3)))
  func healthzTurns503WhileRoundsStallAndRecoversWhenTheyResume() async throws {
    let loop = try LoopProcess(folder: try LoopProcess.workspace(policy: "threshold: 0.9\n"))
    var locker: ChildProcess?
    do {
      let port = try await loop.port()
      #expect(await loop.child.wait(upTo: 60) { (try? await loop.get("/readyz", port: port).status) == 200 })
      #expect(try await loop.get("/healthz", port: port).status == 200)

      // Another process takes the history's write lock: every round waits for it, then fails.
      guard let sqlite = ExternalTool("sqlite3") else {
        Issue.record("sqlite3 is not installed (.ci/run installs it)")
        await loop.tearDown()
        return
      }
      let lockHolder = try ChildProcess(
        // `.timeout`: the shell waits for the loop's own writes (rounds every 50 ms at this
        // pace) instead of failing BEGIN at once and holding nothing.
        "/bin/sh", ["-c", "(echo '.timeout 30000'; echo 'BEGIN IMMEDIATE;'; sleep 600) | \(sqlite.path) h.sqlite"],
        in: loop.folder,
        name: "sqlite3")
      locker = lockHolder
      var health = try await loop.get("/healthz", port: port)
      let stalled = try await loop.child.wait(upTo: 60) {
        health = try await loop.get("/healthz", port: port)
        return health.status == 503
      }
      #expect(stalled, "healthz stayed \(health.status): \(health.body)")
      let reason = try health.json()["reason"] as? String ?? ""
      #expect(reason.contains("more than two intervals"), "\(reason)")
      #expect(try await loop.get("/readyz", port: port).status == 503)
      let failedRound = try await loop.child.wait(upTo: 30) {
        let metrics = ExpositionText(try await loop.get("/metrics", port: port).body)
        return (metrics.value(LoopMetricNames.rounds, ["decision": "failed"]) ?? 0) >= 1
      }
      #expect(failedRound, "no round failed while the history was locked")
      let failing = try await loop.get("/healthz", port: port)
      #expect(failing.status == 503)
      #expect((try failing.json()["reason"] as? String)?.contains("failed") == true, "\(failing.body)")

      // The lock goes: rounds complete again and the loop is healthy and ready.
      await lockHolder.stop()
      let healed = try await loop.child.wait(upTo: 60) {
        try await loop.get("/healthz", port: port).status == 200
      }
      let last = try await loop.get("/healthz", port: port)
      #expect(healed, "\(last.body)")
      #expect(try await loop.get("/readyz", port: port).status == 200)
      loop.child.signal(SIGTERM)
      #expect(await loop.child.exitStatus(within: 60) == 0)
    } catch {
      Issue.record("\(error)\n\(loop.child.stderr)")
    }
    await locker?.stop()
    await loop.tearDown()
  }

  @Test(.timeLimit(.minutes(2)))
  func anAddressInUseStopsTheLoopBeforeAnyRound() async throws {
    let taken = try TCPListener()
    let loop = try LoopProcess(folder: try LoopProcess.workspace(), listen: "127.0.0.1:\(taken.port)")
    let exit = await loop.child.exitStatus(within: 60)
    #expect(exit != nil && exit != 0)
    #expect(loop.child.stderr.contains("cannot serve HTTP on 127.0.0.1:\(taken.port)"), "\(loop.child.stderr)")
    #expect(loop.child.stdout.isEmpty, "a round ran: \(loop.child.stdout)")
    taken.close()
    await loop.tearDown()
  }

  @Test func listenNeedsTheLoopAndAnAddress() async throws {
    let folder = try LoopProcess.workspace()
    defer { try? FileManager.default.removeItem(at: folder) }
    let tool = ExternalTool(path: LoopProcess.executable.path)
    let once = try await tool.run(["balance"] + LoopProcess.files + ["--listen", "127.0.0.1:0"], in: folder)
    #expect(once.status == 64)
    #expect(once.stderr.contains("--listen serves a running loop: add --loop"))
    let bad = try await tool.run(["balance", "--loop"] + LoopProcess.files + ["--listen", "9464"], in: folder)
    #expect(bad.status == 64)
    #expect(bad.stderr.contains("expected HOST:PORT"))
  }
}
