import Foundation

/// One lab at a time on this machine, across test targets and processes: suites of different
/// targets run in parallel, and two labs at once share two cores badly enough to skew the CPU
/// and pre-copy figures the tests check. (The CLI tests take the same lock file.)
enum QEMUTestLock {
  static let path = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-qemu-tests.lock").path

  /// Runs `body` holding the lock (waiting for it on a thread of its own).
  static func held<T>(_ body: () async throws -> T) async rethrows -> T {
    let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o666)
    if fd >= 0 {
      await withCheckedContinuation { done in
        Thread {
          _ = flock(fd, LOCK_EX); done.resume()
        }.start()
      }
    }
    defer {
      if fd >= 0 { close(fd) }  // closing releases the lock
    }
    return try await body()
  }
}
