import BallastEngine
import BallastModel
import BallastTestSupport
import Foundation
import Testing

@testable import BallastHistory

@Suite("Copying a history")
struct CopyTests {
  /// A history with a bit of everything, written partly under a lease (fencing epochs).
  private func fill(_ store: HistoryStore) async throws {
    let clock = 1_767_225_600.0
    let moves = [liveMove("web1", from: "h1", to: "h2"), coldMove("db1", from: "h1", to: "h3")]
    // A long lease: on a loaded machine a short one may go unrenewed, and its writes be refused.
    try await store.withLease(cluster: "lab", holder: LeaseHolder.current(command: "test"), duration: 3600) { _ in
      let planID = try await store.recordPlan(plan(moves), dryRun: false, at: clock)
      for (index, move) in moves.enumerated() {
        let id = try await journalMove(store, plan: planID, index: index, move, at: clock + Double(index) * 100)
        try await store.recordObservation(
          ModelTests.observation(vm: move.vm, bytes: 2.3e9, first: 2.2e9), move: id, learn: true,
          settings: LearningSettings())
      }
      try await store.planFinished(plan: planID, measuredImbalanceAfter: 0.12, at: clock + 300)
      try await store.recordHostStateChange(
        HostStateChange(cluster: "lab", host: "h1", maintenance: true, by: "alice", reason: "BIOS", at: clock))
    }
    _ = try await store.recordPlan(plan([]), dryRun: true, at: clock + 400)
    try await store.recordHostSamples(
      (0..<5).map { HostSample(cluster: "lab", host: "h\($0)", at: clock + Double($0), cpu: 0.5, memory: 0.25) })
  }

  @Test(
    "a history copied between backends holds the same rows, ids and epochs",
    arguments: [
      (Backend.sqlite, Backend.postgres), (.postgres, .sqlite),
    ])
  func copyBetweenBackends(from: Backend, to: Backend) async throws {
    try await withStore(from) { source, _ in
      try await fill(source)
      try await withStore(to) { destination, _ in
        let report = try await source.copy(to: destination, batch: 3)
        #expect(report.map(\.table) == HistoryStore.copiedTables)
        #expect(report.allSatisfy { $0.sourceRows == $0.copiedRows })
        #expect(
          report.first { $0.table == "stages" }?.copiedRows
            == MigrationStage.stages(for: .live).count + MigrationStage.stages(for: .cold).count)
        #expect(try await destination.plans() == source.plans())
        #expect(
          try await destination.migrations(MigrationFilter(includePlanned: true))
            == source.migrations(MigrationFilter(includePlanned: true)))
        for id in try await source.migrations().map(\.id) {
          #expect(try await destination.migration(id: id) == source.migration(id: id))
        }
        #expect(try await destination.hostSamples(cluster: "lab") == source.hostSamples(cluster: "lab"))
        #expect(try await destination.hostStateChanges() == source.hostStateChanges())
        #expect(try await destination.learnedEstimates(cluster: "lab") == source.learnedEstimates(cluster: "lab"))
        #expect(report.first { $0.table == "model_estimates" }?.copiedRows == 4)  // two VMs, a link both ways
        let epochs = "SELECT lease_epoch FROM stages ORDER BY id"
        #expect(try await destination.rowsForTest(epochs) == source.rowsForTest(epochs))
        // New rows get new ids after the copied ones, and the fencing triggers are back.
        let next = try await destination.recordPlan(plan([]), dryRun: true, at: 1)
        #expect(next > (try await source.plans().map(\.id).max() ?? 0))
        await #expect(throws: (any Error).self) {
          try await destination.executeForTest(
            "UPDATE plans SET lease_epoch = 999 WHERE id = ?", next)
        }
      }
    }
  }

  @Test("a copy is refused into a history that is not empty, and from one a process holds a lease on")
  func refusals() async throws {
    try await withStore(.sqlite) { source, _ in
      try await fill(source)
      try await withStore(.sqlite) { destination, _ in
        try await destination.recordHostSamples([HostSample(cluster: "x", host: "h", at: 1, cpu: 0, memory: 0)])
        let error = try await #require(throws: HistoryError.self) { try await source.copy(to: destination) }
        #expect(error.message.contains("already holds a history"))
        #expect(error.path == destination.path)
      }
      _ = try await source.acquireLease(cluster: "lab", holder: LeaseHolder.current(command: "balance"), duration: 60)
      try await withStore(.sqlite) { destination, _ in
        let error = try await #require(throws: HistoryError.self) { try await source.copy(to: destination) }
        #expect(error.message.contains("holds a lease"))
        #expect(error.hint?.contains("stop the Ballast processes") == true)
      }
    }
  }

  @Test("every table of the schema is copied but the write keys")
  func everyTableIsCopied() async throws {
    try await withStore(.sqlite) { store, _ in
      let tables = try await store.rowsForTest(
        """
        SELECT name FROM sqlite_master WHERE type = 'table'
          AND name NOT IN ('grdb_migrations', 'sqlite_sequence', 'write_keys') ORDER BY name
        """
      ).map { try $0.decode(String.self, forColumn: "name") }
      #expect(tables == HistoryStore.copiedTables.sorted())
    }
  }
}
