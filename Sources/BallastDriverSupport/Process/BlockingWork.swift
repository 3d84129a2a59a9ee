import Foundation

/// Runs blocking work on a thread of its own, so it never occupies one of the few threads of
/// Swift's cooperative pool: file copies, hashing, a C library's blocking calls (libvirt's).
///
/// Each call gets a new thread, which ends with the work. The work cannot be interrupted:
/// cancelling the awaiting task does not stop it, so give blocking calls their own time limit.
public enum BlockingWork {
  /// Runs `work` on a new thread named `name` and returns (or throws) what it did.
  public static func run<T: Sendable>(_ name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      let thread = Thread {
        continuation.resume(with: Result { try work() })
      }
      thread.name = name
      thread.start()
    }
  }
}
