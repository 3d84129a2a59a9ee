import BallastEngine
import BallastHistory
import BallastModel
import Foundation
import Testing

/// Two `ballast` processes on one cluster and one history database: one migrates at a time.
@Suite("the cluster lease between processes (end to end)")
struct LeaseProcessTests {
  @Test(.timeLimit(.minutes(2)))
  func aDrainIsRefusedWhileAMigrateRunsAndAdmittedOnceItEnds() async throws {
    let workspace = try ProcessWorkspace()
    defer { workspace.remove() }
    let store = try workspace.store()
    let migrate = try workspace.start(
      ["migrate", "web", "--to", "h2", "--pace", "2", "--json"] + ProcessWorkspace.files)
    let running = try await migrate.wait(upTo: 60) { try await ProcessWorkspace.inFlight(store) != nil }
    try #require(running, "the migration never started: \(migrate.stderr)")

    let refused = try await workspace.run(["drain", "h3", "--json"] + ProcessWorkspace.files)
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("cluster slow is busy"), "\(refused.stderr)")
    #expect(refused.stderr.contains("migrate web --to h2 pid \(migrate.process.processIdentifier)"))
    #expect(refused.stderr.contains("until"))
    #expect(refused.stdout.isEmpty)
    #expect(try await store.hostStateChanges(cluster: "slow").isEmpty)  // the refused drain changed nothing
    #expect(migrate.process.isRunning)

    #expect(await migrate.waitForExit(upTo: 60) == 0, "\(migrate.stderr)")
    let admitted = try await workspace.run(["drain", "h3", "--json"] + ProcessWorkspace.files)
    #expect(admitted.status == 0, "\(admitted.stderr)")
    let summary = try #require(try ProcessWorkspace.jsonLines(admitted.stdout).last)
    #expect(summary["event"] as? String == "summary" && summary["empty"] as? Bool == true)
    #expect(try await store.hostStateChanges(cluster: "slow").map(\.maintenance) == [true])
    #expect(try await store.currentLease(cluster: "slow") == nil)
  }

  @Test(.timeLimit(.minutes(1)))
  func aLeaseHeldFromAnotherMachineRefusesUntilItExpires() async throws {
    let workspace = try ProcessWorkspace()
    defer { workspace.remove() }
    let store = try workspace.store()
    let elsewhere = LeaseHolder(id: "balance --loop pid 7 on node-b #1", pid: 7, hostname: "node-b")
    let lease = try await store.acquireLease(cluster: "slow", holder: elsewhere, duration: 3)

    let refused = try await workspace.run(["migrate", "web", "--to", "h2", "--json"] + ProcessWorkspace.files)
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("balance --loop pid 7 on node-b #1") && refused.stderr.contains("node-b"))
    #expect(try await store.migrations().isEmpty)

    // The other machine stopped renewing: once the lease expires it is taken over.
    try await Task.sleep(for: .seconds(max(0, lease.expiresAt - Date().timeIntervalSince1970) + 0.2))
    let admitted = try await workspace.run(["migrate", "web", "--to", "h2", "--json"] + ProcessWorkspace.files)
    #expect(admitted.status == 0, "\(admitted.stderr)")
    #expect(try await store.migrations().map(\.outcome) == [.completed])
  }
}
