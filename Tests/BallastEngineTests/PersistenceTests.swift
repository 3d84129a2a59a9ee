import BallastEngine
import BallastModel
import Foundation
import Synchronization
import Testing

@Suite struct PersistenceTests {
  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-engine-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  @Test func theFileStoreRoundTripsAndLeavesNoTemporaryFile() throws {
    let directory = try Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("state.json").path
    let store = FileStateStore(path: path)
    #expect(try store.load() == nil)
    var state = SimulatedState(cluster: Fixture.cluster(hostCount: 2, vms: [Fixture.vm("a", on: "h0")]))
    try store.save(state)
    state.elapsed = 42
    state.downHosts = ["h1"]
    try store.save(state)
    #expect(try store.load() == state)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["state.json"])
  }

  @Test func aCorruptStateFileIsReportedWithWhatToDo() throws {
    let directory = try Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("state.json").path
    try Data("{not json".utf8).write(to: URL(fileURLWithPath: path))
    #expect {
      _ = try FileStateStore(path: path).load()
    } throws: { error in
      "\(error)".contains(path) && "\(error)".contains("delete the file")
    }
  }

  struct Checkpoint: Sendable, CustomTestStringConvertible {
    var kind: MigrationKind
    var stage: MigrationStage
    var type: EngineEvent.EventType
    /// What `locate` must find in a new process, sorted by host.
    var expected: [VMPlacement]
    /// The host the inventory shows the VM on.
    var owner: String
    var testDescription: String { "\(kind.rawValue) \(type == .stageStarted ? "starting" : "after") \(stage.rawValue)" }
  }

  static let checkpoints: [Checkpoint] = [
    Checkpoint(
      kind: .live, stage: .reservation, type: .stageEnded,
      expected: [.init(host: "h0", state: .running), .init(host: "h1", state: .incoming)], owner: "h0"),
    Checkpoint(
      kind: .live, stage: .stopAndCopy, type: .stageEnded,
      expected: [.init(host: "h0", state: .paused), .init(host: "h1", state: .paused)], owner: "h0"),
    Checkpoint(
      kind: .live, stage: .commitment, type: .stageEnded,
      expected: [.init(host: "h0", state: .paused), .init(host: "h1", state: .paused)], owner: "h1"),
    Checkpoint(
      kind: .live, stage: .activation, type: .stageEnded, expected: [.init(host: "h1", state: .running)], owner: "h1"),
    Checkpoint(
      kind: .cold, stage: .verifyOff, type: .stageEnded, expected: [.init(host: "h0", state: .stopped)], owner: "h0"),
    Checkpoint(
      kind: .cold, stage: .register, type: .stageEnded,
      expected: [.init(host: "h0", state: .stopped), .init(host: "h1", state: .stopped)], owner: "h0"),
    Checkpoint(
      kind: .cold, stage: .commitment, type: .stageEnded, expected: [.init(host: "h1", state: .stopped)], owner: "h1"),
    Checkpoint(
      kind: .cold, stage: .start, type: .stageEnded, expected: [.init(host: "h1", state: .running)], owner: "h1"),
  ]

  /// The state file as a process killed at a checkpoint leaves it: a new process finds the
  /// hypervisors' intermediate state, and can finish or undo the move from there.
  @Test(arguments: checkpoints)
  func aProcessKilledMidMigrationLeavesTheHypervisorStateBehind(_ checkpoint: Checkpoint) async throws {
    let directory = try Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let live = directory.appendingPathComponent("state.json").path
    let killed = directory.appendingPathComponent("killed.json").path
    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("vm", on: "h0")])
    let driver = try SimulatedDriver(cluster: cluster, store: FileStateStore(path: live))
    let copied = Mutex(false)
    let engine = MigrationEngine(
      simulated: driver, policy: Fixture.policy(),
      observer: { event in
        guard event.type == checkpoint.type, event.stage == checkpoint.stage else { return }
        // What a kill -9 right now would leave behind.
        try? FileManager.default.copyItem(atPath: live, toPath: killed)
        copied.withLock { $0 = true }
      })
    let move = Fixture.move(
      "vm", from: "h0", to: "h1", kind: checkpoint.kind, requiresShutdown: checkpoint.kind == .cold)
    let summary = await engine.execute(Fixture.plan([move], cluster: cluster))
    #expect(summary.done == 1)
    #expect(copied.withLock { $0 })

    let revived = try SimulatedDriver(resumingFrom: FileStateStore(path: killed))
    let found = try await revived.locate(vm: "vm").sorted { $0.host < $1.host }
    #expect(found == checkpoint.expected)
    #expect(try await revived.inventory().vm(named: "vm")?.host == checkpoint.owner)
    #expect(revived.clock.elapsed > 0)
    let state = await revived.snapshot()
    #expect(state.violations() == [])

    // Recovery from there as `reconcile` does it: no token (the journal does not keep it), and
    // operations that may repeat what the dead process already did.
    let request = MigrationRequest(vm: "vm", from: "h0", to: "h1", kind: checkpoint.kind)
    let reservation = Reservation(request: request, token: "")
    let committed = checkpoint.owner == "h1"
    switch (checkpoint.kind, committed) {
    case (.live, true):
      try await revived.commit(reservation)
      try await revived.activate(reservation)
      try await revived.activate(reservation)
    case (.live, false):
      try await revived.resumeOnSource(reservation)
      try await revived.release(reservation)
      try await revived.release(reservation)
    case (.cold, true):
      try await revived.removeSource(request)
      try await revived.start(vm: "vm", on: "h1")
    case (.cold, false):
      try await revived.discardDestination(request, reservation: reservation)
      try await revived.discardDestination(request, reservation: reservation)
      try await revived.start(vm: "vm", on: "h0")
    }
    let home = committed ? "h1" : "h0"
    #expect(try await revived.locate(vm: "vm") == [VMPlacement(host: home, state: .running)])
    let after = await revived.snapshot()
    #expect(after.violations() == [])
    #expect(after.reservations.isEmpty)
  }
}
