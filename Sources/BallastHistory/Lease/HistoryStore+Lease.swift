import BallastEngine
import Foundation

extension HistoryStore {
  /// Takes the lease of `cluster` for `duration` seconds (of the database's clock), in one
  /// transaction that locks the lease's row.
  ///
  /// Succeeds when nobody holds it, when `holder` already holds it (renewing it), when it has
  /// expired, or — on SQLite, whose holders all run on this machine — when its holder was a
  /// process on this machine that no longer exists. A new holder gets the next epoch.
  /// - Throws: ``LeaseError/held(_:now:)`` saying who holds it and until when.
  public func acquireLease(
    cluster: String, holder: LeaseHolder, duration: Double, purpose: LeasePurpose = .migration
  ) async throws -> ClusterLease {
    let checkPids = database.dialect == .sqlite
    return try await write("take the \(purpose.rawValue) lease of cluster \(cluster)") { tx in
      let now = try tx.now()
      var stored = try Self.lease(tx, purpose, cluster: cluster, locking: true)
      if stored == nil {
        let inserted = try tx.execute(
          """
          INSERT INTO \(purpose.table) (cluster, holder, pid, hostname, acquired_at, renewed_at, expires_at, epoch)
          VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (cluster) DO NOTHING
          """, cluster, holder.id, holder.pid, holder.hostname, now, now, now + duration)
        if inserted == 1 {
          return ClusterLease(
            cluster: cluster, holder: holder, acquiredAt: now, renewedAt: now, expiresAt: now + duration, epoch: 1,
            purpose: purpose)
        }
        // Another process inserted it between our read and our insert (PostgreSQL): read it, locked.
        stored = try Self.lease(tx, purpose, cluster: cluster, locking: true)
      }
      guard let (current, released) = stored else {
        throw LeaseError.lost(cluster: cluster, holder: holder, takenBy: nil)
      }
      let sameHolder = !released && current.holder.id == holder.id
      let expired = current.expiresAt <= now
      let holderGone =
        checkPids && current.holder.hostname == holder.hostname && current.holder.pid != holder.pid
        && !LeaseHolder.processExists(current.holder.pid)
      guard released || sameHolder || expired || holderGone else { throw LeaseError.held(current, now: now) }
      if sameHolder {
        try tx.execute(
          "UPDATE \(purpose.table) SET renewed_at = ?, expires_at = ? WHERE cluster = ?", now, now + duration, cluster)
        var renewed = current
        renewed.renewedAt = now
        renewed.expiresAt = now + duration
        return renewed
      }
      try tx.execute(
        """
        UPDATE \(purpose.table) SET holder = ?, pid = ?, hostname = ?, acquired_at = ?, renewed_at = ?, expires_at = ?,
          epoch = epoch + 1, released_at = NULL
        WHERE cluster = ?
        """, holder.id, holder.pid, holder.hostname, now, now, now + duration, cluster)
      return ClusterLease(
        cluster: cluster, holder: holder, acquiredAt: now, renewedAt: now, expiresAt: now + duration,
        tookOverFrom: released ? nil : current.holder, epoch: current.epoch + 1, purpose: purpose)
    }
  }

  /// Extends `lease` to `duration` seconds from now (the database's clock), if it is still ours.
  /// While the database is unreachable it retries for up to `budget` seconds.
  /// - Throws: ``LeaseError/lost(cluster:holder:takenBy:)`` when another process took it over.
  public func renewLease(_ lease: ClusterLease, duration: Double, budget: Double? = nil) async throws -> ClusterLease {
    try await write("renew the \(lease.purpose.rawValue) lease of cluster \(lease.cluster)", budget: budget) { tx in
      let now = try tx.now()
      let stored = try Self.lease(tx, lease.purpose, cluster: lease.cluster, locking: true)
      guard let (current, released) = stored, !released, current.holder.id == lease.holder.id,
        current.epoch == lease.epoch
      else {
        let takenBy = stored.flatMap { $0.released ? nil : $0.lease.holder }
        throw LeaseError.lost(cluster: lease.cluster, holder: lease.holder, takenBy: takenBy)
      }
      try tx.execute(
        "UPDATE \(lease.purpose.table) SET renewed_at = ?, expires_at = ? WHERE cluster = ?", now, now + duration,
        lease.cluster)
      var renewed = current
      renewed.renewedAt = now
      renewed.expiresAt = now + duration
      return renewed
    }
  }

  /// Gives `lease` up (nothing happens when it is no longer ours). The row stays, marked
  /// released, so its epoch is never given out again.
  public func releaseLease(_ lease: ClusterLease) async throws {
    try await write("release the \(lease.purpose.rawValue) lease of cluster \(lease.cluster)") { tx in
      let now = try tx.now()
      try tx.execute(
        """
        UPDATE \(lease.purpose.table) SET released_at = ?, expires_at = ?
        WHERE cluster = ? AND holder = ? AND epoch = ? AND released_at IS NULL
        """, now, now, lease.cluster, lease.holder.id, lease.epoch)
    }
  }

  /// The lease of `cluster` as stored (possibly expired), or `nil` when nobody holds it.
  public func currentLease(cluster: String, purpose: LeasePurpose = .migration) async throws -> ClusterLease? {
    try await read("read the \(purpose.rawValue) lease of cluster \(cluster)") { tx in
      guard let (lease, released) = try Self.lease(tx, purpose, cluster: cluster, locking: false), !released else {
        return nil
      }
      return lease
    }
  }

  /// Runs `body` while holding the migration lease of `cluster`: takes it, renews it every
  /// `renewInterval` seconds (default: a third of `duration`) while `body` runs, and releases
  /// it when `body` returns or throws.
  ///
  /// Every write `body` makes (and the tasks it starts) carries the lease's fencing token. If
  /// the lease is lost — taken over, or not renewed within `duration` by this process's own
  /// monotonic clock — those writes are refused (``JournalFenced``), so the engine stops
  /// touching VMs at its next journal write; `body` is not cancelled (an engine cancelled with
  /// `onCancel: abort` would roll transfers back, touching VMs the new holder settles), and
  /// the ``LeaseError`` is thrown once it ends.
  public func withLease<T: Sendable>(
    cluster: String, holder: LeaseHolder, duration: Double = 60, renewInterval: Double? = nil,
    _ body: @escaping @Sendable (ClusterLease) async throws -> T
  ) async throws -> T {
    let requested = ContinuousClock.now
    let lease = try await acquireLease(cluster: cluster, holder: holder, duration: duration)
    let fence = LeaseFence(cluster: cluster, epoch: lease.epoch, requested: requested, seconds: duration)
    let interval = renewInterval ?? duration / 3
    do {
      let result = try await withThrowingTaskGroup(of: LeaseTask<T>.self) { group in
        group.addTask { .finished(try await LeaseFence.$current.withValue(fence) { try await body(lease) }) }
        group.addTask {
          do {
            try await keepRenewing(lease, fence: fence, duration: duration, every: interval)
          } catch let error as LeaseError {
            return .lost(error)
          } catch {}
          return .renewerStopped
        }
        var lost: LeaseError?
        while let next = try await group.next() {
          switch next {
          case .finished(let value):
            group.cancelAll()
            if let lost { throw lost }
            if fence.revocation != nil {
              // The database refused a write of `body` before the renewer noticed the takeover,
              // or the lease went unrenewed for its duration (then nobody else may hold it yet).
              let now = try? await currentLease(cluster: cluster)
              throw LeaseError.lost(
                cluster: cluster, holder: holder, takenBy: now?.holder == holder ? nil : now?.holder)
            }
            return value
          case .lost(let error): lost = error
          case .renewerStopped: break
          }
        }
        throw lost ?? LeaseError.lost(cluster: cluster, holder: holder, takenBy: nil)
      }
      try? await releaseLease(lease)
      return result
    } catch {
      try? await releaseLease(lease)
      throw error
    }
  }

  /// Renews `lease` until cancelled. A failed renewal is retried until the lease may have
  /// expired; a lease taken by someone else ends it at once. Either way the fence is revoked.
  private func keepRenewing(
    _ lease: ClusterLease, fence: LeaseFence, duration: Double, every interval: Double
  )
    async throws
  {
    var current = lease
    var trustedUntil = ContinuousClock.now + .milliseconds(Int64(duration * 1000))
    while true {
      try await Task.sleep(for: .seconds(interval))
      let requested = ContinuousClock.now
      let remaining = (trustedUntil - requested) / .seconds(1)
      do {
        current = try await renewLease(current, duration: duration, budget: max(0, remaining))
        fence.extend(requested: requested, seconds: duration)
        trustedUntil = requested + .milliseconds(Int64(duration * 1000))
      } catch let error as LeaseError {
        fence.revoke("\(error)")
        throw error
      } catch {
        if ContinuousClock.now >= trustedUntil {
          let lost = LeaseError.lost(cluster: lease.cluster, holder: lease.holder, takenBy: nil)
          fence.revoke("the lease could not be renewed in time (\(error))")
          throw lost
        }
      }
    }
  }

  /// The stored lease of `cluster` and whether it was released; `locking` takes its row lock
  /// until the transaction ends (PostgreSQL's `FOR UPDATE`; SQLite's write transactions are
  /// exclusive already).
  static func lease(
    _ tx: any SQLTransaction, _ purpose: LeasePurpose, cluster: String, locking: Bool
  ) throws -> (lease: ClusterLease, released: Bool)? {
    let lock = locking && tx.dialect == .postgres ? " FOR UPDATE" : ""
    guard let row = try tx.row("SELECT * FROM \(purpose.table) WHERE cluster = ?\(lock)", cluster) else { return nil }
    let lease = ClusterLease(
      cluster: cluster,
      holder: LeaseHolder(
        id: try row.decode(forColumn: "holder"), pid: try row.decode(forColumn: "pid"),
        hostname: try row.decode(forColumn: "hostname")),
      acquiredAt: try row.decode(forColumn: "acquired_at"), renewedAt: try row.decode(forColumn: "renewed_at"),
      expiresAt: try row.decode(forColumn: "expires_at"), epoch: try row.decode(forColumn: "epoch"),
      purpose: purpose)
    let released: Double? = try row.decode(forColumn: "released_at")
    return (lease, released != nil)
  }
}

/// What a child task of ``HistoryStore/withLease(cluster:holder:duration:renewInterval:_:)`` ended with.
private enum LeaseTask<T: Sendable>: Sendable {
  case finished(T)
  case lost(LeaseError)
  case renewerStopped
}
