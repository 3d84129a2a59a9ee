/// The pauses between checks for something that usually happens within milliseconds but may
/// take seconds (a process exiting, a hypervisor settling after a migration): short at first,
/// doubling up to a ceiling.
///
/// A fixed 50 ms poll adds up to 50 ms to every such wait, at random: during a live
/// migration's switchover that is outage the guest sees, and noise in what the cost model
/// learns. Starting at 1 ms and doubling costs a handful of checks when the thing is quick and
/// no more CPU than the fixed poll when it is slow.
public struct PollingBackoff: Sendable {
  /// The pause before the next check.
  public private(set) var next: Duration
  /// The longest pause.
  public let ceiling: Duration

  /// Starts at `first`, doubling up to `ceiling`.
  public init(first: Duration = .milliseconds(1), ceiling: Duration = .milliseconds(50)) {
    self.next = max(first, .microseconds(100))
    self.ceiling = max(ceiling, self.next)
  }

  /// Sleeps the next pause, then lengthens the one after.
  /// - Throws: `CancellationError` when the task is cancelled.
  public mutating func pause() async throws {
    try await Task.sleep(for: next)
    next = min(next * 2, ceiling)
  }
}
