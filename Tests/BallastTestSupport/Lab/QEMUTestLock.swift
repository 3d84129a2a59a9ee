import Foundation

/// One lab at a time on this machine, across test targets and processes: any test that starts
/// QEMU processes, itself or through a daemon (the QEMU lab, a libvirt lab), holds it while
/// they run. Suites of different targets run in parallel, and two labs at once share the few
/// cores badly enough to skew the CPU and pre-copy figures the tests check.
///
/// The lock is an advisory `flock` on one file in the temporary folder: it is released when the
/// process holding it exits, also when a test crashes. Waiting for it counts towards a test's
/// time limit, so the lab suites' limits (20 minutes) guard against hangs, not slowness: on a
/// machine where other test runs hold the lock a lab test may wait that long.
public enum QEMUTestLock {
  /// The lock file every test target and process shares.
  public static let path = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-qemu-tests.lock")
    .path

  /// Runs `body` holding the lock (waiting for it on a thread of its own, off the cooperative
  /// pool). When the lock file cannot be opened, `body` runs without it.
  public static func held<T>(_ body: () async throws -> T) async rethrows -> T {
    let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o666)
    if fd >= 0 {
      await withCheckedContinuation { done in
        Thread {
          _ = flock(fd, LOCK_EX)
          done.resume()
        }.start()
      }
    }
    defer {
      if fd >= 0 { close(fd) }  // closing releases the lock
    }
    return try await body()
  }
}
