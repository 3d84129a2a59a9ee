import BallastEngine
import BallastModel
import Logging
import Testing

@testable import BallastHistory

/// Just enough hypervisor for `Reconciler` to act on: VM → host → state.
private actor PlacementDriver: Driver {
  var placements: [String: [String: VMPlacementState]]

  init(_ placements: [String: [String: VMPlacementState]]) { self.placements = placements }

  func locate(vm: String) async throws -> [VMPlacement] {
    (placements[vm] ?? [:]).sorted { $0.key < $1.key }.map { VMPlacement(host: $0.key, state: $0.value) }
  }
  func release(_ r: Reservation) async throws { placements[r.request.vm]?[r.request.to] = nil }
  func resumeOnSource(_ r: Reservation) async throws { placements[r.request.vm]?[r.request.from] = .running }
  func activate(_ r: Reservation) async throws {
    placements[r.request.vm] = [r.request.to: .running]
  }
  func start(vm: String, on host: String) async throws { placements[vm]?[host] = .running }
  func removeSource(_ request: MigrationRequest) async throws { placements[request.vm]?[request.from] = nil }
  func discardDestination(_ request: MigrationRequest, reservation: Reservation) async throws {
    placements[request.vm]?[request.to] = nil
  }

  func inventory() async throws -> Cluster { throw DriverError("unused") }
  func reserve(_ request: MigrationRequest) async throws -> Reservation { throw DriverError("unused") }
  func transfer(
    _ reservation: Reservation, settings: LiveSettings, onEvent: @Sendable (TransferEvent) async -> Void
  ) async throws -> TransferResult { throw DriverError("unused") }
  func commit(_ reservation: Reservation) async throws { throw DriverError("unused") }
  func shutdown(vm: String, on host: String, timeout: TimeSpan) async throws { throw DriverError("unused") }
  func copyFiles(_ request: MigrationRequest, reservation: Reservation) async throws -> CopyResult {
    throw DriverError("unused")
  }
  func register(_ request: MigrationRequest, reservation: Reservation) async throws { throw DriverError("unused") }
}

/// `reconcile` with the SQLite journal: what it did is in the tables, and the next run finds
/// nothing left to do.
@Suite("Reconcile, recorded in SQLite")
struct ReconcileRecordTests {
  /// Writes a started live move of web1 h1 → h2 whose stages up to `last` succeeded, and `last`'s
  /// intent (and success, when `succeeded`).
  private func interrupted(
    _ store: HistoryStore, at last: MigrationStage, succeeded: Bool, cluster: String = "lab"
  ) async throws -> MoveID {
    let move = liveMove("web1", from: "h1", to: "h2")
    let planID = try await store.recordPlan(plan([move], cluster: cluster), dryRun: false, at: 10)
    let id = try await store.moveStarted(plan: planID, index: 0, move: move, at: 11)
    for stage in MigrationStage.stages(for: .live) {
      try await store.stageIntent(move: id, stage: stage, at: 12)
      if stage == last && !succeeded { break }
      try await store.stageOutcome(move: id, stage: stage, outcome: .succeeded, at: 13, figures: .init(), error: nil)
      if stage == last { break }
    }
    return id
  }

  private func reconciler(_ store: HistoryStore, _ driver: PlacementDriver) -> Reconciler {
    Reconciler(journal: store, driver: driver, cluster: nil, now: { 500 }, logger: Logger(label: "test"))
  }

  @Test("a move killed during pre-copy is rolled back and the record says so", arguments: Backend.allCases)
  func rollbackRecorded(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let id = try await interrupted(store, at: .preCopy, succeeded: false)
      let driver = PlacementDriver(["web1": ["h1": .running, "h2": .paused]])
      let results = try await reconciler(store, driver).run()
      #expect(results.map(\.resolution) == [.finished(.rolledBack)])
      #expect(await driver.placements["web1"] == ["h1": .running])

      let detail = try #require(try await store.migration(id: id))
      #expect(detail.migration.outcome == .rolledBack)
      #expect(detail.migration.endedAt == 500)
      #expect(detail.migration.detail?.contains("removed the paused container on h2") == true)
      let stages = detail.stages.map { "\($0.stage.rawValue):\($0.outcome?.rawValue ?? "open"):\($0.intentAt != nil)" }
      #expect(
        stages == [
          "preMigration:succeeded:true", "reservation:succeeded:true", "preCopy:rolledBack:true",
          "reservation:rolledBack:false",
        ])
      #expect(detail.stages[2].figures?.note?.hasPrefix("reconcile: ") == true)
      #expect(try await store.unfinishedMoves().isEmpty)
      #expect(try await reconciler(store, driver).run().isEmpty)
    }
  }

  @Test("a committed move is activated, its intent written before the activation", arguments: Backend.allCases)
  func completionRecorded(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let id = try await interrupted(store, at: .commitment, succeeded: true)
      let driver = PlacementDriver(["web1": ["h1": .paused, "h2": .paused]])
      let results = try await reconciler(store, driver).run()
      #expect(results.map(\.resolution) == [.finished(.completed)])
      #expect(await driver.placements["web1"] == ["h2": .running])
      let detail = try #require(try await store.migration(id: id))
      #expect(detail.migration.outcome == .completed)
      let activation = try #require(detail.stages.last)
      #expect(activation.stage == .activation)
      #expect(activation.intentAt == 500)
      #expect(activation.outcome == .succeeded)
      #expect(try await store.lastMoves()["web1"]?.from == "h1")
    }
  }

  @Test("a contradictory state is recorded as needing attention, with the situation", arguments: Backend.allCases)
  func attentionRecorded(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let id = try await interrupted(store, at: .activation, succeeded: false)
      let driver = PlacementDriver(["web1": ["h1": .running, "h2": .running]])
      let results = try await reconciler(store, driver).run()
      #expect(results.map(\.resolution) == [.finished(.needsAttention)])
      let record = try #require(try await store.migrations(MigrationFilter(failedOnly: true)).first)
      #expect(record.id == id)
      #expect(record.outcome == .needsAttention)
      #expect(record.detail?.contains("running on h1, running on h2") == true)
      #expect(record.detail?.contains("stop the copy on h1") == true)
    }
  }

  @Test(
    "reconciling one cluster leaves the unfinished moves of another in the same database alone",
    arguments: Backend.allCases)
  func scopedByCluster(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let ours = try await interrupted(store, at: .preCopy, succeeded: false)
      let theirs = try await interrupted(store, at: .preCopy, succeeded: false, cluster: "other")
      #expect(try await store.unfinishedMoves(cluster: "lab").map(\.id) == [ours])
      #expect(try await store.unfinishedMoves(cluster: "other").map(\.id) == [theirs])
      #expect(try await store.unfinishedMoves(cluster: "none").isEmpty)
      #expect(try await store.unfinishedMoves().map(\.id) == [ours, theirs])

      // web1 of "other" has the same name as lab's: a reconciler that strayed would move lab's web1.
      let driver = PlacementDriver(["web1": ["h1": .running, "h2": .paused]])
      let labOnly = Reconciler(journal: store, driver: driver, cluster: "lab", now: { 500 }, logger: Logger(label: "t"))
      #expect(try await labOnly.run().map(\.move) == [ours])
      #expect(try await store.unfinishedMoves(cluster: "other").map(\.id) == [theirs])
      let untouched = try #require(try await store.migration(id: theirs))
      #expect(untouched.migration.outcome == nil && untouched.migration.endedAt == nil)
      #expect(untouched.stages.map(\.outcome) == [.succeeded, .succeeded, nil])
      #expect(try await labOnly.run().isEmpty)
    }
  }
}
