import BallastTestSupport
import Foundation
import Testing

@testable import BallastHistory

/// The history's backends: backend-neutral tests run against each.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
  case sqlite
  case postgres

  var testDescription: String { rawValue }
}

/// A store on a new, empty database of `backend`: a file in a temporary folder, or a database
/// of its own on the test PostgreSQL server (dropped after, also when `body` throws). `URL` is
/// a temporary folder either way.
func withStore<T>(
  _ backend: Backend, clock: HistoryClock = .system, _ body: (HistoryStore, URL) async throws -> T
) async throws -> T {
  switch backend {
  case .sqlite:
    return try await withStore(clock: clock, body)
  case .postgres:
    return try await withPostgresDatabase { url, directory in
      let store = try await HistoryStore.open(
        .postgres(try PostgresURL(url, environment: [:])), clock: clock, reconnectFor: 5)
      do {
        let result = try await body(store, directory)
        await store.close()
        return result
      } catch {
        await store.close()
        throw error
      }
    }
  }
}

/// Two stores on one new database of `backend`, standing for two Ballast processes.
func withTwoStores<T>(
  _ backend: Backend, clock: HistoryClock = .system, _ body: (HistoryStore, HistoryStore) async throws -> T
) async throws -> T {
  switch backend {
  case .sqlite:
    return try await withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("ballast.sqlite").path
      return try await body(try HistoryStore(path: path, clock: clock), try HistoryStore(path: path, clock: clock))
    }
  case .postgres:
    return try await withPostgresDatabase { url, _ in
      let target = HistoryTarget.postgres(try PostgresURL(url, environment: [:]))
      let first = try await HistoryStore.open(target, clock: clock, reconnectFor: 5)
      let second = try await HistoryStore.open(target, clock: clock, reconnectFor: 5)
      do {
        let result = try await body(first, second)
        await first.close()
        await second.close()
        return result
      } catch {
        await first.close()
        await second.close()
        throw error
      }
    }
  }
}

/// A new database on the shared test PostgreSQL server (its URL) and a temporary folder, both
/// removed when `body` ends.
func withPostgresDatabase<T>(_ body: (String, URL) async throws -> T) async throws -> T {
  try await PostgresTestServer.withDatabase { server, name in
    try await withTemporaryDirectory { directory in try await body(server.url(database: name), directory) }
  }
}

extension HistoryStore {
  /// Runs `sql` in a write transaction of the store's own backend (tests that change rows by hand).
  func executeForTest(_ sql: String, _ arguments: any SQLArgument...) async throws {
    let values = arguments.map(\.sqlValue)
    _ = try await database.write { tx in try tx.execute(sql, arguments: values) }
  }

  /// The rows of `sql`, read straight from the tables.
  func rowsForTest(_ sql: String, _ arguments: any SQLArgument...) async throws -> [SQLRow] {
    let values = arguments.map(\.sqlValue)
    return try await database.read { tx in try tx.rows(sql, arguments: values) }
  }
}
