import BallastHistory
import Foundation

/// Who leads a cluster's balancing loop when several `balance --loop` instances share one
/// history: the leader runs rounds, the others stand by (they sample nothing and move
/// nothing) and take over when the leader stops renewing its lease.
public protocol LoopLeadership: Sendable {
  /// Takes the lead, or keeps it; says who leads when another instance does.
  /// - Throws: when the history cannot be reached (the loop then does not act this interval,
  ///   unless ``isLeading`` still holds).
  func claim() async throws -> LeadershipClaim
  /// Renews the lead while this instance holds it (a round may last longer than the lease);
  /// a lost lead is reported by the next ``claim()``.
  func renew() async
  /// Whether this instance leads now: it holds the lease and renewed it recently enough, by its
  /// own monotonic clock, that nobody else can have taken it over.
  var isLeading: Bool { get async }
  /// How often ``renew()`` must run.
  var renewInterval: Double { get }
  /// Gives the lead up (a clean stop), so a standby takes over at its next check.
  func release() async
}

/// What ``LoopLeadership/claim()`` found.
public enum LeadershipClaim: Sendable, Hashable {
  /// This instance leads. `fresh`: it was not leading before this claim (it must reconcile
  /// first); `tookOverFrom`: the leader whose lease it took over, if any.
  case leading(fresh: Bool, tookOverFrom: LeaseHolder?)
  /// Another instance leads; this one stands by.
  case standingBy(leader: ClusterLease)
}

/// The only instance: it always leads (simulations, tests, a loop without a shared history).
public struct SoleLeadership: LoopLeadership {
  private let first = FirstClaim()

  public init() {}

  public func claim() async throws -> LeadershipClaim { .leading(fresh: await first.take(), tookOverFrom: nil) }
  public func renew() async {}
  public var isLeading: Bool { true }
  public var renewInterval: Double { 3600 }
  public func release() async {}

  private actor FirstClaim {
    var taken = false
    func take() -> Bool {
      defer { taken = true }
      return !taken
    }
  }
}

/// The lead as a lease in the history (``LeasePurpose/leader``): taken and renewed in
/// transactions on the database's clock; trusted locally for its duration from when the
/// request that took or renewed it was sent, so a paused or cut-off leader stops acting
/// before anyone else can take over.
public actor StoreLeadership: LoopLeadership {
  let store: HistoryStore
  let cluster: String
  let holder: LeaseHolder
  /// Seconds a lead lasts without renewal.
  public nonisolated let duration: Double
  private var lease: ClusterLease?
  private var trustedUntil: ContinuousClock.Instant?

  public init(store: HistoryStore, cluster: String, holder: LeaseHolder, duration: Double) {
    self.store = store
    self.cluster = cluster
    self.holder = holder
    self.duration = duration
  }

  public nonisolated var renewInterval: Double { duration / 3 }

  public var isLeading: Bool {
    guard lease != nil, let trustedUntil else { return false }
    return ContinuousClock.now < trustedUntil
  }

  public func claim() async throws -> LeadershipClaim {
    if lease != nil {
      await renew()
      if lease != nil, isLeading { return .leading(fresh: false, tookOverFrom: nil) }
    }
    let requested = ContinuousClock.now
    do {
      let taken = try await store.acquireLease(cluster: cluster, holder: holder, duration: duration, purpose: .leader)
      lease = taken
      trustedUntil = requested + .milliseconds(Int64(duration * 1000))
      return .leading(fresh: true, tookOverFrom: taken.tookOverFrom)
    } catch LeaseError.held(let leader, _) {
      return .standingBy(leader: leader)
    }
  }

  public func renew() async {
    guard let current = lease, let trustedUntil else { return }
    let requested = ContinuousClock.now
    do {
      lease = try await store.renewLease(
        current, duration: duration, budget: max(0, (trustedUntil - requested) / .seconds(1)))
      self.trustedUntil = requested + .milliseconds(Int64(duration * 1000))
    } catch is LeaseError {
      lease = nil
      self.trustedUntil = nil
    } catch {
      if ContinuousClock.now >= trustedUntil {
        lease = nil
        self.trustedUntil = nil
      }
    }
  }

  public func release() async {
    guard let current = lease else { return }
    lease = nil
    trustedUntil = nil
    try? await store.releaseLease(current)
  }
}

/// Told when this instance stands by and when it leads (what `/healthz`, `/readyz` and the
/// `ballast_standby` metric report).
public protocol LoopRoleObserver: Sendable {
  /// This instance stands by while `leader` balances the cluster; called at every check.
  func standingBy(leader: String)
  /// This instance leads (it took over, or nobody else was leading).
  func becameActive()
}

/// Several role observers, each told everything in turn.
public struct LoopRoleObservers: LoopRoleObserver {
  let observers: [any LoopRoleObserver]

  public init(_ observers: [any LoopRoleObserver]) { self.observers = observers }

  public func standingBy(leader: String) { for observer in observers { observer.standingBy(leader: leader) } }
  public func becameActive() { for observer in observers { observer.becameActive() } }
}
