import BallastEngine
import Synchronization

/// The fencing token of a migration lease this process holds: the cluster and the epoch the
/// lease was taken at, and until when this process may trust it without hearing from the
/// database again.
///
/// ``HistoryStore/withLease(cluster:holder:duration:renewInterval:_:)`` makes it ``current``
/// for the work it runs (and every task that work starts), so every write made under the lease
/// carries the epoch and the database's fencing triggers check it. The lease's renewer extends
/// it; a lost lease revokes it, and writes are then refused here before they reach the
/// database.
final class LeaseFence: Sendable {
  /// The fence of the lease the current task works under, if any.
  @TaskLocal static var current: LeaseFence?

  let cluster: String
  let epoch: Int64
  private let state: Mutex<State>

  private struct State {
    /// After this (on this process's monotonic clock) the lease may have expired.
    var trustedUntil: ContinuousClock.Instant
    /// Why the lease is no longer ours, once it is not.
    var revoked: String?
  }

  /// A fence for a lease taken at `epoch`, trusted for `seconds` from `requested` (when the
  /// request that took it was sent: the database's expiry counts from no earlier).
  init(cluster: String, epoch: Int64, requested: ContinuousClock.Instant, seconds: Double) {
    self.cluster = cluster
    self.epoch = epoch
    state = Mutex(State(trustedUntil: requested + .seconds(seconds), revoked: nil))
  }

  /// Trusts the lease for `seconds` from `requested` (a renewal sent then succeeded).
  func extend(requested: ContinuousClock.Instant, seconds: Double) {
    state.withLock { state in
      let until = requested + .seconds(seconds)
      if until > state.trustedUntil { state.trustedUntil = until }
    }
  }

  /// The lease is no longer ours: every later write under it is refused.
  func revoke(_ reason: String) {
    state.withLock { state in
      if state.revoked == nil { state.revoked = reason }
    }
  }

  /// Why the lease is no longer ours, once it was revoked (taken over, or not renewed in time).
  var revocation: String? { state.withLock { $0.revoked } }

  /// Whether the lease may still be trusted (not revoked, and renewed recently enough).
  var isTrusted: Bool {
    state.withLock { $0.revoked == nil && ContinuousClock.now < $0.trustedUntil }
  }

  /// Throws ``JournalFenced`` when the lease is revoked, or has gone unrenewed for longer than
  /// it lasts (the database may have given it to someone else by now: the fence is then
  /// revoked for good, even if a late renewal succeeds).
  func check() throws(JournalFenced) {
    let reason: String? = state.withLock { state in
      if let revoked = state.revoked { return revoked }
      if ContinuousClock.now >= state.trustedUntil {
        state.revoked = "the lease was not renewed in time and may have expired"
        return state.revoked
      }
      return nil
    }
    if let reason { throw JournalFenced(cluster: cluster, epoch: epoch, detail: reason) }
  }
}
