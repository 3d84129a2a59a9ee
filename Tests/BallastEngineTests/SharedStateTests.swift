import BallastEngine
import BallastModel
import Foundation
import Synchronization
import Testing

/// Processes taking turns on one simulated cluster through its state file.
@Suite struct SharedStateTests {
  @Test func aStoreSeesOnlyWhatOthersSaved() throws {
    let directory = try PersistenceTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("state.json").path
    let mine = FileStateStore(path: path)
    let theirs = FileStateStore(path: path)
    #expect(try mine.loadIfChanged() == nil)  // no file yet
    var state = SimulatedState(cluster: Fixture.cluster(hostCount: 2, vms: [Fixture.vm("a", on: "h0")]))
    try mine.save(state)
    #expect(try mine.loadIfChanged() == nil)  // its own write
    state.downHosts = ["h1"]
    try theirs.save(state)
    #expect(try mine.loadIfChanged() == state)
    #expect(try mine.loadIfChanged() == nil)  // seen now
    #expect(try InMemoryStateStore(state).loadIfChanged() == nil)
  }

  @Test func aDriverAdoptsWhatAnotherProcessDidAndItsClockNeverRunsBack() async throws {
    let directory = try PersistenceTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("state.json").path
    let cluster = Fixture.cluster(hostCount: 3, vms: [Fixture.vm("vm", on: "h0")])
    let first = try SimulatedDriver(cluster: cluster, store: FileStateStore(path: path))
    let second = try SimulatedDriver(resumingFrom: FileStateStore(path: path))
    #expect(try await second.inventory().vm(named: "vm")?.host == "h0")

    // The first process moves the VM; the second, idle meanwhile, sees where it is now.
    let engine = MigrationEngine(simulated: first, policy: Fixture.policy())
    let summary = await engine.execute(Fixture.plan([Fixture.move("vm", from: "h0", to: "h1")], cluster: cluster))
    #expect(summary.done == 1)
    #expect(second.clock.now() < first.clock.now())
    #expect(try await second.inventory().vm(named: "vm")?.host == "h1")
    #expect(try await second.locate(vm: "vm") == [VMPlacement(host: "h1", state: .running)])
    #expect(second.clock.now() >= first.clock.now())

    // The second puts a host in maintenance; the first sees it before placing anything.
    try await second.setMaintenance(true, host: "h2")
    #expect(try await first.inventory().host(named: "h2")?.state == .maintenance)
    let refused = await engine.check(Fixture.move("vm", from: "h1", to: "h2"))
    guard case .failure(let notPossible) = refused else {
      Issue.record("a move onto a host in maintenance passed its checks")
      return
    }
    #expect(notPossible.check == .hostState)
  }

  @Test func catchingUpWakesWhoeverSleptUntilThen() async throws {
    let clock = VirtualClock(origin: 0, elapsed: 5)
    let woke = Mutex(false)
    clock.join()  // this test: time stands still while it works
    clock.join()  // the sleeper
    let sleeper = Task {
      await clock.sleep(until: 10)
      woke.withLock { $0 = true }
      clock.leave()
    }
    try await Task.sleep(for: .milliseconds(100))
    clock.catchUp(to: 3)  // never back
    #expect(clock.elapsed == 5)
    #expect(!woke.withLock { $0 })
    clock.catchUp(to: 12)
    await sleeper.value
    #expect(woke.withLock { $0 })
    #expect(clock.elapsed == 12)
    clock.leave()
  }
}
