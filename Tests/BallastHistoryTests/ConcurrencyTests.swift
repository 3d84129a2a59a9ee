import BallastEngine
import BallastModel
import BallastTestSupport
import Testing

@testable import BallastHistory

@Suite("Concurrency")
struct ConcurrencyTests {
  /// `ballast history` (a second connection) reads while `balance --loop` writes: WAL readers
  /// never wait for the writer, so no read fails with "database is locked".
  @Test("readers do not get 'database is locked' while a writer writes")
  func readersDuringWrites() async throws {
    try await withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("ballast.sqlite").path
      let writer = try HistoryStore(path: path)
      let reader = try HistoryStore(path: path)
      let rounds = 60
      try await withThrowingTaskGroup(of: Int.self) { group in
        group.addTask {
          for round in 0..<rounds {
            let move = liveMove("vm\(round % 7)", from: "h1", to: "h2")
            let planID = try await writer.recordPlan(plan([move]), dryRun: false, at: Double(round))
            try await journalMove(writer, plan: planID, index: 0, move, at: Double(round))
            try await writer.recordHostSamples(
              (0..<20).map { HostSample(cluster: "lab", host: "h\($0)", at: Double(round), cpu: 0.5, memory: 0.5) })
          }
          return rounds
        }
        for _ in 0..<3 {
          group.addTask {
            var reads = 0
            var seen = 0
            while seen < rounds {
              seen = try await reader.plans(limit: 1000).count
              _ = try await reader.migrations(MigrationFilter(vm: "vm3"))
              _ = try await reader.lastMoves(cluster: "lab")
              _ = try await reader.hostSamples(host: "h1", limit: 10)
              reads += 1
            }
            return reads
          }
        }
        var total = 0
        for try await count in group { total += count }
        #expect(total > rounds)
      }
      #expect(try await reader.migrations(MigrationFilter(limit: 1000)).count == rounds)
    }
  }

  /// Two processes writing at once wait for each other (busy timeout) instead of failing.
  @Test("two writers on one file both succeed")
  func concurrentWriters() async throws {
    try await withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("ballast.sqlite").path
      let stores = try (0..<2).map { _ in try HistoryStore(path: path) }
      try await withThrowingTaskGroup(of: Void.self) { group in
        for (n, store) in stores.enumerated() {
          group.addTask {
            for i in 0..<100 {
              try await store.recordHostSamples([
                HostSample(cluster: "lab", host: "writer\(n)", at: Double(i), cpu: 0.1, memory: 0.1)
              ])
              _ = try await store.recordPlan(plan([]), dryRun: true, at: Double(i))
            }
          }
        }
        try await group.waitForAll()
      }
      #expect(try await stores[0].hostSamples(host: "writer1").count == 100)
      #expect(try await stores[1].plans(limit: 1000).count == 200)
    }
  }

  @Test("two processes creating the same new database at once both open it")
  func concurrentCreation() async throws {
    try await withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("ballast.sqlite").path
      let stores = try await withThrowingTaskGroup(of: HistoryStore.self) { group in
        for _ in 0..<4 { group.addTask { try HistoryStore(path: path) } }
        var stores: [HistoryStore] = []
        for try await store in group { stores.append(store) }
        return stores
      }
      for store in stores { #expect(try await store.appliedMigrations() == HistorySchema.migrationNames) }
    }
  }
}
