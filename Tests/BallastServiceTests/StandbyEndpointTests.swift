import BallastTestSupport
import Foundation
import Testing

/// Two loops with endpoints on one PostgreSQL history: the standby says so on `/readyz` and in
/// `ballast_standby`, and stops saying so once it took over from a killed leader.
@Suite("The standby's endpoint (end to end)", .serialized)
struct StandbyEndpointTests {
  static func loop(_ name: String, folder: URL, database url: String) throws -> LoopProcess {
    try LoopProcess(
      folder: folder, extra: ["--state", "state.json", "--lease", "4s"], name: name,
      files: ["--cluster", "demo.yaml", "--policy", "fast.yaml", "--db", url])
  }

  @Test(.timeLimit(.minutes(2)))
  func theStandbyIsHealthyNotReadyAndCountsAsStandbyUntilItTakesOver() async throws {
    try await PostgresTestServer.withDatabase { server, database in
      let folder = try LoopProcess.workspace()
      let leader = try Self.loop("a", folder: folder, database: server.url(database: database))
      var standby: LoopProcess?
      do {
        #expect(await leader.child.wait(upTo: 60) { leader.child.stderr.contains("leading the balancing") })
        let second = try Self.loop("b", folder: folder, database: server.url(database: database))
        standby = second
        let port = try await second.port()
        #expect(
          await second.child.wait(upTo: 30) { second.child.stderr.contains("standing by") }, "\(second.child.stderr)")

        // Healthy while it keeps checking on the leader (every interval: on a loaded machine a
        // check may come late, so each answer is awaited), not ready, and counted as standby.
        #expect(await second.child.wait(upTo: 30) { (try? await second.get("/healthz", port: port).status) == 200 })
        let notReady = try await second.get("/readyz", port: port)
        #expect(notReady.status == 503)
        #expect(notReady.body.contains("standing by"), "\(notReady.body)")
        let metrics = ExpositionText(try await second.get("/metrics", port: port).body)
        #expect(metrics.value("ballast_standby") == 1)
        let leaderPort = try await leader.port()
        #expect(ExpositionText(try await leader.get("/metrics", port: leaderPort).body).value("ballast_standby") == 0)

        leader.child.signal(SIGKILL)
        #expect(
          await second.child.wait(upTo: 60) { second.child.stderr.contains("taking over from") },
          "\(second.child.stderr)"
        )
        #expect(
          await second.child.wait(upTo: 30) {
            (try? ExpositionText(await second.get("/metrics", port: port).body).value("ballast_standby")) == 0
          })
        #expect(await second.child.wait(upTo: 60) { (try? await second.get("/readyz", port: port).status) == 200 })
      } catch {
        Issue.record("\(error)")
      }
      await leader.child.stop()
      await standby?.child.stop()
      try? FileManager.default.removeItem(at: folder)
    }
  }
}
