import BallastTestSupport
import Foundation
import GRDB
import Testing

@testable import BallastHistory

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 11, classes 5, 6 and 11 at the store: a damaged database is refused before anything is
/// journaled, reading needs no write access, a `--db` symlink to nowhere gets an owner-only
/// file, and host samples are pruned per cluster.
@Suite("History integrity and access")
struct IntegrityTests {
  /// A database with garbage written over pages in its middle.
  private func damagedDatabase(in directory: URL) async throws -> String {
    let path = directory.appendingPathComponent("damaged.sqlite").path
    do {
      let store = try HistoryStore(path: path)
      let samples = (0..<20_000).map {
        HostSample(cluster: "c", host: "h\($0 % 50)", at: Double($0), cpu: 0.5, memory: 0.25)
      }
      try await store.recordHostSamples(samples)
      try await store.pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
      try store.pool.close()
    }
    let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    let handle = try #require(FileHandle(forUpdatingAtPath: path))
    var random = SystemRandomNumberGenerator()
    try handle.seek(toOffset: UInt64(size / 2 / 4096 * 4096))
    try handle.write(contentsOf: Data((0..<(3 * 4096)).map { _ in UInt8.random(in: 0...255, using: &random) }))
    try handle.close()
    return path
  }

  @Test func aDamagedDatabaseIsRefusedWithHowToRecover() async throws {
    try await withTemporaryDirectory { directory in
      let path = try await damagedDatabase(in: directory)
      // Opening alone does not notice: the damage is in pages it does not read.
      _ = try HistoryStore(path: path)
      let error = try #require(throws: HistoryError.self) { try HistoryStore(path: path, verifyIntegrity: true) }
      #expect(error.message.contains("damaged"))
      #expect(error.hint?.contains(".recover") == true)
      #expect(error.hint?.contains("nothing was moved") == true)
    }
  }

  @Test func aHealthyDatabasePassesTheCheck() async throws {
    try await withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("ok.sqlite").path
      _ = try HistoryStore(path: path, verifyIntegrity: true)
      _ = try HistoryStore(path: path, verifyIntegrity: true)
    }
  }

  /// A read-only store never writes: not the schema, not the journal mode, not the file.
  @Test func aReadOnlyStoreReadsWithoutWriting() async throws {
    try await withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("ro.sqlite").path
      do {
        let store = try HistoryStore(path: path)
        try await store.recordHostSamples([HostSample(cluster: "c", host: "h", at: 1, cpu: 0.5, memory: 0.5)])
        try await store.pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        try store.pool.close()
      }
      chmod(path, 0o444)
      let before = try Data(contentsOf: URL(fileURLWithPath: path))
      let reader = try HistoryStore(path: path, access: .readOnly)
      #expect(try await reader.hostSamples(cluster: "c").count == 1)
      await #expect(throws: HistoryError.self) {
        try await reader.recordHostSamples([HostSample(cluster: "c", host: "h", at: 2, cpu: 0.5, memory: 0.5)])
      }
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
      let missing = directory.appendingPathComponent("missing.sqlite").path
      #expect(throws: HistoryError.self) { try HistoryStore(path: missing, access: .readOnly) }
      #expect(!FileManager.default.fileExists(atPath: missing), "reading never creates a database")
    }
  }

  @Test func aSymlinkToNowhereGetsAnOwnerOnlyDatabase() async throws {
    try await withTemporaryDirectory { directory in
      let link = directory.appendingPathComponent("link.sqlite").path
      let target = directory.appendingPathComponent("target.sqlite").path
      try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
      let store = try HistoryStore(path: link)
      try await store.recordHostSamples([HostSample(cluster: "c", host: "h", at: 1, cpu: 0.5, memory: 0.5)])
      let mode = try #require(try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int)
      #expect(mode == 0o600)
    }
  }

  @Test func pruningKeepsOtherClustersSamples() async throws {
    try await withStore { store, _ in
      try await store.recordHostSamples([
        HostSample(cluster: "a", host: "h", at: 10, cpu: 0.5, memory: 0.5),
        HostSample(cluster: "a", host: "h", at: 100, cpu: 0.5, memory: 0.5),
        HostSample(cluster: "b", host: "h", at: 10, cpu: 0.5, memory: 0.5),
      ])
      #expect(try await store.pruneHostSamples(before: 50, cluster: "a") == 1)
      #expect(try await store.hostSamples().map(\.cluster).sorted() == ["a", "b"])
    }
  }
}
