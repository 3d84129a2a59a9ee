import Foundation

/// Runs blocking work (file copies, hashing, waiting for a child process) on its own thread,
/// so it never occupies one of the few threads of Swift's cooperative pool.
enum BlockingWork {
  static func run<T: Sendable>(_ name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      let thread = Thread {
        continuation.resume(with: Result { try work() })
      }
      thread.name = name
      thread.start()
    }
  }
}
