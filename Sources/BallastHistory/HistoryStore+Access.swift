import BallastEngine
import Foundation

extension HistoryStore {
  /// Runs `body` in one committed write transaction.
  ///
  /// Under a migration lease (``LeaseFence/current``) the write is refused with
  /// ``JournalFenced`` once the lease is lost, before it reaches the database, and when the
  /// database's fencing trigger refuses it. While the database is unreachable the transaction
  /// is run again, for up to `budget` seconds (default: the store's `reconnectFor`): `body`
  /// must be idempotent — see ``write(_:key:_:)`` for writes that are not by themselves.
  /// Database errors name the database and `what`; a ``LeaseError`` thrown by `body` passes
  /// unchanged.
  func write<T: Sendable>(
    _ what: String, budget: Double? = nil, _ body: @escaping @Sendable (any SQLTransaction) throws -> T
  ) async throws -> T {
    let fence = LeaseFence.current
    return try await retrying(what, budget: budget ?? reconnectFor, fence: fence) {
      try fence?.check()
      return try await database.write(body)
    }
  }

  /// Runs `body` once in one committed write transaction, however often the transaction must
  /// be sent: the transaction records `key` (made by the caller, once per logical write) with
  /// the id `body` returns, and a retry that finds the key returns that id and changes nothing.
  func write(
    _ what: String, key: WriteKey, _ body: @escaping @Sendable (any SQLTransaction) throws -> Int64?
  ) async throws -> Int64? {
    try await write(what) { tx in
      if let done = try tx.row("SELECT result FROM write_keys WHERE key = ?", key.text) {
        return try done.decode(Int64?.self, forColumn: "result")
      }
      let result = try body(tx)
      try tx.execute("INSERT INTO write_keys (key, result, at) VALUES (?, ?, ?)", key.text, result, try tx.now())
      return result
    }
  }

  /// Runs `body` on a snapshot of the database, retried while the database is unreachable;
  /// errors name the database and `what`.
  func read<T: Sendable>(
    _ what: String, _ body: @escaping @Sendable (any SQLTransaction) throws -> T
  ) async throws
    -> T
  {
    try await retrying(what, budget: reconnectFor) { try await database.read(body) }
  }

  /// Runs `attempt` until it succeeds, fails for a reason other than an unreachable database,
  /// or `budget` seconds have passed; reports an outage once, and its end.
  func retrying<T: Sendable>(
    _ what: String, budget: Double, fence: LeaseFence? = nil, _ attempt: () async throws -> T
  ) async throws -> T {
    let deadline = ContinuousClock.now + .milliseconds(Int64(max(0, budget) * 1000))
    var pause = Duration.milliseconds(100)
    while true {
      do {
        let result = try await attempt()
        if let outage = outage.end() {
          logger.notice(
            "history database \(path) answers again after \(outage.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))"
          )
        }
        return result
      } catch let error as LeaseError {
        throw error
      } catch let error as JournalFenced {
        throw error
      } catch let error as HistoryError {
        throw error
      } catch let error as DecodingFailure {
        throw HistoryError(
          path: path, "cannot \(what): \(error)", hint: "the database was changed by hand or by a newer Ballast")
      } catch {
        switch database.classify(error) {
        case .fenced(let message):
          let fenced = JournalFenced(cluster: fence?.cluster ?? "?", epoch: fence?.epoch ?? 0, detail: message)
          fence?.revoke(message)
          throw fenced
        case .transient where ContinuousClock.now + pause < deadline && !Task.isCancelled:
          if outage.begin() {
            logger.warning(
              "history database \(path) unreachable, retrying for up to \(Int(budget))s: \(database.failure(what, error).message)"
            )
          }
          try? await Task.sleep(for: pause)
          pause = min(pause * 2, .seconds(2))
        case .transient, .other:
          throw database.failure(what, error)
        }
      }
    }
  }

  /// The epoch of the lease the current task writes under, as the rows it writes carry it.
  static var currentEpoch: Int64? { LeaseFence.current?.epoch }
}

/// The key of one logical write, made by this process: a retry of the write sends the same key.
struct WriteKey: Sendable, Hashable {
  let text: String

  /// A new key (a random UUID).
  init() { text = UUID().uuidString.lowercased() }
}
