import BallastEngine
import BallastHistory
import BallastModel
import BallastTestSupport
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
    // About 15 s at --pace 1: time enough for another process to start and meet the lease.
    let migrate = try workspace.start(
      ["migrate", "web", "--to", "h2", "--pace", "1", "--json"] + ProcessWorkspace.files)
    let running = await StageWatcher.wait(for: "reservation", in: workspace.databasePath, within: 60)
    try #require(running, "the migration never started: \(migrate.stderr)")

    let refused = try await workspace.run(["drain", "h3", "--json"] + ProcessWorkspace.files)
    #expect(refused.status == 75)  // busy, not failed: another process holds the lease
    #expect(refused.stderr.contains("cluster slow is busy"), "\(refused.stderr)")
    #expect(refused.stderr.contains("migrate web --to h2 pid \(migrate.process.processIdentifier)"))
    #expect(refused.stderr.contains("until"))
    #expect(refused.stdout.isEmpty)
    #expect(try await store.hostStateChanges(cluster: "slow").isEmpty)  // the refused drain changed nothing

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
    // Long enough that the first attempt surely comes before it expires, even on a machine busy
    // with every other suite (a `ballast migrate` process took 14 s to answer there once).
    let lease = try await store.acquireLease(cluster: "slow", holder: elsewhere, duration: 40)

    let refused = try await workspace.run(["migrate", "web", "--to", "h2", "--json"] + ProcessWorkspace.files)
    try #require(Date().timeIntervalSince1970 < lease.expiresAt, "the machine was too busy to test in time")
    #expect(refused.status == 75)  // busy, not failed: another process holds the lease
    #expect(refused.stderr.contains("balance --loop pid 7 on node-b #1") && refused.stderr.contains("node-b"))
    #expect(try await store.migrations().isEmpty)

    // The other machine stopped renewing: once the lease expires it is taken over.
    try await Task.sleep(for: .seconds(max(0, lease.expiresAt - Date().timeIntervalSince1970) + 0.2))
    let admitted = try await workspace.run(["migrate", "web", "--to", "h2", "--json"] + ProcessWorkspace.files)
    #expect(admitted.status == 0, "\(admitted.stderr)")
    #expect(try await store.migrations().map(\.outcome) == [.completed])
  }
}
