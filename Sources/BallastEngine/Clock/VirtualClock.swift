import Synchronization

/// A discrete-event clock shared by concurrent simulated activities.
///
/// Time stands still while any participant is working and jumps to the earliest wake-up when
/// every participant is waiting, so hours of cluster time pass in milliseconds and the result
/// does not depend on how fast the machine is.
///
/// Participants: whoever spawns a concurrent activity calls ``join()`` before it starts and
/// ``leave()`` once it is done (the engine does this for each migration). A waiting participant
/// calls ``sleep(until:key:)``. A caller that is the only activity may sleep without joining.
/// ``advance(to:)`` is for callers that are not participants (a balancing loop between rounds).
public final class VirtualClock: EngineClock, Sendable {
  /// Unix time at elapsed time zero.
  public let origin: Double

  private struct Sleeper {
    var id: Int
    var until: Double
    var key: Int?
    var continuation: CheckedContinuation<Bool, Never>
  }

  private struct State {
    var elapsed: Double
    var active = 0
    var sleepers: [Sleeper] = []
    var pendingInterrupts: Set<Int> = []
    var nextID = 0

    /// When no participant is active, jumps to the earliest wake-up and returns who wakes.
    mutating func advanceIfIdle() -> [CheckedContinuation<Bool, Never>] {
      guard active <= 0, let earliest = sleepers.map(\.until).min() else { return [] }
      elapsed = max(elapsed, earliest)
      let waking = sleepers.filter { $0.until <= elapsed }
      sleepers.removeAll { $0.until <= elapsed }
      active += waking.count
      return waking.map(\.continuation)
    }
  }

  private let state: Mutex<State>

  /// The default origin: 2026-01-01T00:00:00Z.
  public static let defaultOrigin: Double = 1_767_225_600

  /// A clock at `elapsed` seconds after `origin` (Unix time).
  public init(origin: Double = VirtualClock.defaultOrigin, elapsed: Double = 0) {
    self.origin = origin
    self.state = Mutex(State(elapsed: elapsed))
  }

  /// Seconds since ``origin``.
  public var elapsed: Double { state.withLock { $0.elapsed } }

  public func now() -> Double { origin + elapsed }

  public func uptime() -> Double { elapsed }

  public func join() { state.withLock { $0.active += 1 } }

  public func leave() {
    let waking = state.withLock { state in
      state.active -= 1
      return state.advanceIfIdle()
    }
    for continuation in waking { continuation.resume(returning: false) }
  }

  public func sleep(seconds: Double) async {
    let target = elapsed + max(seconds, 0)
    _ = await sleep(until: target)
  }

  /// Waits until elapsed time `until`. With a `key`, ``interrupt(key:)`` wakes the caller
  /// early (returns `true`); an interrupt sent before the caller sleeps is kept for it.
  @discardableResult
  public func sleep(until: Double, key: Int? = nil) async -> Bool {
    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
      let (immediate, waking): (Bool?, [CheckedContinuation<Bool, Never>]) = state.withLock { state in
        if let key, state.pendingInterrupts.remove(key) != nil { return (true, []) }
        if until <= state.elapsed { return (false, []) }
        state.nextID += 1
        state.sleepers.append(Sleeper(id: state.nextID, until: until, key: key, continuation: continuation))
        state.active -= 1
        return (nil, state.advanceIfIdle())
      }
      if let immediate { continuation.resume(returning: immediate) }
      for other in waking { other.resume(returning: false) }
    }
  }

  /// Wakes the sleeper that waits with `key` now, or the next one to sleep with it.
  public func interrupt(key: Int) {
    let woken: CheckedContinuation<Bool, Never>? = state.withLock { state in
      guard let position = state.sleepers.firstIndex(where: { $0.key == key }) else {
        state.pendingInterrupts.insert(key)
        return nil
      }
      let sleeper = state.sleepers.remove(at: position)
      state.active += 1
      return sleeper.continuation
    }
    woken?.resume(returning: true)
  }

  /// Drops an interrupt kept for `key` that nobody will sleep on any more.
  public func forget(key: Int) {
    _ = state.withLock { $0.pendingInterrupts.remove(key) }
  }

  /// Moves time forward to elapsed time `target` at once (never back), waking whoever sleeps
  /// until then: for a clock that must not fall behind another process's (one that shares its
  /// simulated state).
  public func catchUp(to target: Double) {
    let waking: [CheckedContinuation<Bool, Never>] = state.withLock { state in
      guard target > state.elapsed else { return [] }
      state.elapsed = target
      let waking = state.sleepers.filter { $0.until <= target }
      state.sleepers.removeAll { $0.until <= target }
      state.active += waking.count
      return waking.map(\.continuation)
    }
    for continuation in waking { continuation.resume(returning: false) }
  }

  /// Waits until elapsed time `until` as a participant of its own, for callers that did not
  /// ``join()`` (a loop between rounds): time advances once everyone else waits too.
  public func advance(to until: Double) async {
    join()
    await sleep(until: until)
    leave()
  }
}
