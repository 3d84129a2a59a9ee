import Foundation
import GRDB

/// Watches a history database for a migration stage to be under way (and kills a process then).
///
/// It polls on a thread of its own with synchronous reads: the test's async code shares a few
/// threads with every other test, which may hold them for seconds while they wait for their
/// processes, and the moment would pass.
public enum StageWatcher {
  /// Sends `signal` to `pid` as soon as the latest stage attempt of a move in flight is `stage`,
  /// with its intent written and no outcome yet. Returns whether it saw that within `seconds`.
  public static func signal(
    _ signal: Int32, to pid: pid_t, when stage: String, in databasePath: String, within seconds: Double
  ) async -> Bool {
    await wait(for: stage, in: databasePath, within: seconds) { kill(pid, signal) }
  }

  /// Waits until the latest stage attempt of a move in flight is `stage`, under way, and runs
  /// `then` at once on the watching thread. Returns whether it saw that within `seconds`.
  public static func wait(
    for stage: String, in databasePath: String, within seconds: Double, then: @escaping @Sendable () -> Void = {}
  ) async -> Bool {
    await withCheckedContinuation { continuation in
      Thread {
        let seen = watch(stage, databasePath, seconds)
        if seen { then() }
        continuation.resume(returning: seen)
      }.start()
    }
  }

  private static func watch(_ stage: String, _ path: String, _ seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    var configuration = Configuration()
    configuration.busyMode = .timeout(1)
    while Date() < deadline {
      // The database may not exist yet: the process under watch creates it.
      if FileManager.default.fileExists(atPath: path),
        let queue = try? DatabaseQueue(path: path, configuration: configuration)
      {
        return poll(queue, stage, deadline)
      }
      usleep(5_000)
    }
    return false
  }

  private static func poll(_ queue: DatabaseQueue, _ stage: String, _ deadline: Date) -> Bool {
    while Date() < deadline {
      let latest = try? queue.read { db in
        try Row.fetchOne(
          db,
          sql: """
            SELECT s.stage, s.intent_at, s.ended_at FROM stages s JOIN moves m ON m.id = s.move_id
            WHERE m.started_at IS NOT NULL AND m.ended_at IS NULL ORDER BY s.id DESC LIMIT 1
            """)
      }
      if let row = latest ?? nil, row["stage"] == stage, row["intent_at"] as Double? != nil,
        row["ended_at"] as Double? == nil
      {
        return true
      }
      usleep(5_000)
    }
    return false
  }
}
