import GRDB

extension HistoryStore {
  /// Takes the migration lease of `cluster` for `duration` seconds, in an IMMEDIATE transaction.
  ///
  /// Succeeds when nobody holds it, when `holder` already holds it (renewing it), when it has
  /// expired, or when its holder was a process on this machine that no longer exists.
  /// - Throws: ``LeaseError/held(_:now:)`` saying who holds it and until when.
  public func acquireLease(cluster: String, holder: LeaseHolder, duration: Double) async throws -> ClusterLease {
    // `write` runs in an IMMEDIATE transaction: the read and the write below are one step, and a
    // second process waits for it (busy timeout) instead of reading a lease about to change.
    try await write("take the lease of cluster \(cluster)") { db in
      let now = clock.now()
      if let current = try Self.lease(db, cluster: cluster) {
        let sameHolder = current.holder.id == holder.id
        let expired = current.expiresAt <= now
        let holderGone =
          current.holder.hostname == holder.hostname && current.holder.pid != holder.pid
          && !LeaseHolder.processExists(current.holder.pid)
        guard sameHolder || expired || holderGone else { throw LeaseError.held(current, now: now) }
        let lease = ClusterLease(
          cluster: cluster, holder: holder, acquiredAt: sameHolder ? current.acquiredAt : now, renewedAt: now,
          expiresAt: now + duration, tookOverFrom: sameHolder ? nil : current.holder)
        try Self.store(db, lease, replacing: true)
        return lease
      }
      let lease = ClusterLease(
        cluster: cluster, holder: holder, acquiredAt: now, renewedAt: now, expiresAt: now + duration)
      try Self.store(db, lease, replacing: false)
      return lease
    }
  }

  /// Extends `lease` to `duration` seconds from now, if it is still ours.
  /// - Throws: ``LeaseError/lost(cluster:holder:takenBy:)`` when another process took it over.
  public func renewLease(_ lease: ClusterLease, duration: Double) async throws -> ClusterLease {
    try await write("renew the lease of cluster \(lease.cluster)") { db in
      let now = clock.now()
      let current = try Self.lease(db, cluster: lease.cluster)
      guard let current, current.holder.id == lease.holder.id else {
        throw LeaseError.lost(cluster: lease.cluster, holder: lease.holder, takenBy: current?.holder)
      }
      var renewed = current
      renewed.renewedAt = now
      renewed.expiresAt = now + duration
      renewed.tookOverFrom = nil
      try Self.store(db, renewed, replacing: true)
      return renewed
    }
  }

  /// Gives `lease` up (nothing happens when it is no longer ours).
  public func releaseLease(_ lease: ClusterLease) async throws {
    try await write("release the lease of cluster \(lease.cluster)") { db in
      try db.execute(
        sql: "DELETE FROM cluster_leases WHERE cluster = ? AND holder = ?", arguments: [lease.cluster, lease.holder.id])
    }
  }

  /// The lease of `cluster` as stored (possibly expired), or `nil`.
  public func currentLease(cluster: String) async throws -> ClusterLease? {
    try await read("read the lease of cluster \(cluster)") { db in try Self.lease(db, cluster: cluster) }
  }

  /// Runs `body` while holding the lease of `cluster`: takes it, renews it every
  /// `renewInterval` seconds (default: a third of `duration`) while `body` runs, and releases it
  /// when `body` returns or throws. If the lease is lost, `body` is cancelled and the
  /// ``LeaseError`` is thrown.
  public func withLease<T: Sendable>(
    cluster: String, holder: LeaseHolder, duration: Double = 60, renewInterval: Double? = nil,
    _ body: @escaping @Sendable (ClusterLease) async throws -> T
  ) async throws -> T {
    let lease = try await acquireLease(cluster: cluster, holder: holder, duration: duration)
    let interval = renewInterval ?? duration / 3
    do {
      let result = try await withThrowingTaskGroup(of: LeaseTask<T>.self) { group in
        group.addTask { .finished(try await body(lease)) }
        group.addTask {
          try await keepRenewing(lease, duration: duration, every: interval)
          return .renewerStopped
        }
        while let next = try await group.next() {
          if case .finished(let value) = next {
            group.cancelAll()
            return value
          }
        }
        throw CancellationError()
      }
      try? await releaseLease(lease)
      return result
    } catch {
      try? await releaseLease(lease)
      throw error
    }
  }

  /// Renews `lease` until cancelled. A failed renewal is retried at the next tick, until the
  /// lease would have expired; a lease taken by someone else ends it at once.
  private func keepRenewing(_ lease: ClusterLease, duration: Double, every interval: Double) async throws {
    var current = lease
    while true {
      try await Task.sleep(for: .seconds(interval))
      do {
        current = try await renewLease(current, duration: duration)
      } catch let error as LeaseError {
        throw error
      } catch {
        if clock.now() >= current.expiresAt {
          throw LeaseError.lost(cluster: lease.cluster, holder: lease.holder, takenBy: nil)
        }
      }
    }
  }

  static func lease(_ db: Database, cluster: String) throws -> ClusterLease? {
    guard let row = try Row.fetchOne(db, sql: "SELECT * FROM cluster_leases WHERE cluster = ?", arguments: [cluster])
    else { return nil }
    return ClusterLease(
      cluster: cluster,
      holder: LeaseHolder(
        id: try row.decode(forColumn: "holder"), pid: try row.decode(forColumn: "pid"),
        hostname: try row.decode(forColumn: "hostname")),
      acquiredAt: try row.decode(forColumn: "acquired_at"), renewedAt: try row.decode(forColumn: "renewed_at"),
      expiresAt: try row.decode(forColumn: "expires_at"))
  }

  static func store(_ db: Database, _ lease: ClusterLease, replacing: Bool) throws {
    try db.execute(
      sql: """
        \(replacing ? "INSERT OR REPLACE" : "INSERT") INTO cluster_leases
          (cluster, holder, pid, hostname, acquired_at, renewed_at, expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        lease.cluster, lease.holder.id, lease.holder.pid, lease.holder.hostname, lease.acquiredAt, lease.renewedAt,
        lease.expiresAt,
      ])
  }
}

/// What a child task of ``HistoryStore/withLease(cluster:holder:duration:renewInterval:_:)`` ended with.
private enum LeaseTask<T: Sendable>: Sendable {
  case finished(T)
  case renewerStopped
}
