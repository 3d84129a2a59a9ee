import BallastEngine
import BallastTestSupport
import Foundation
import Testing

@testable import BallastHistory

@Suite("Lease")
struct LeaseTests {
  /// Two stores on one file stand for two Ballast processes; the clock is moved by hand.
  @Test(
    "a second process is refused while the lease is held and admitted after it expires",
    arguments: Backend.allCases)
  func refusedThenAdmitted(backend: Backend) async throws {
    let clock = ManualClock()
    try await withTwoStores(backend, clock: clock.historyClock) { first, second in
      let balance = LeaseHolder.current(command: "balance")
      let drain = LeaseHolder.current(command: "drain")

      let lease = try await first.acquireLease(cluster: "lab", holder: balance, duration: 60)
      #expect(lease.expiresAt == clock.now + 60)
      clock.advance(59)
      let refusal = try await #require(throws: LeaseError.self) {
        try await second.acquireLease(cluster: "lab", holder: drain, duration: 60)
      }
      guard case .held(let held, _) = refusal else {
        Issue.record("expected .held, got \(refusal)")
        return
      }
      #expect(held.holder == balance)
      let message = refusal.description
      #expect(message.contains(balance.id))
      #expect(message.contains("pid \(getpid())"))
      #expect(message.contains(LeaseError.format(lease.expiresAt)))
      #expect(message.contains("1s from now"))
      // Another cluster is free.
      _ = try await second.acquireLease(cluster: "other", holder: drain, duration: 60)

      clock.advance(1)
      let taken = try await second.acquireLease(cluster: "lab", holder: drain, duration: 60)
      #expect(taken.holder == drain)
      #expect(taken.tookOverFrom == balance)
      #expect(try await first.currentLease(cluster: "lab")?.holder == drain)
      // The first process finds out at its next renewal.
      let lost = try await #require(throws: LeaseError.self) { try await first.renewLease(lease, duration: 60) }
      #expect(lost == .lost(cluster: "lab", holder: balance, takenBy: drain))
      #expect(lost.description.contains("taken over by \(drain.id)"))
    }
  }

  @Test(
    "renewing pushes the expiry; releasing frees the cluster; re-acquiring keeps the lease", arguments: Backend.allCases
  )
  func renewAndRelease(backend: Backend) async throws {
    let clock = ManualClock()
    try await withStore(backend, clock: clock.historyClock) { store, _ in
      let holder = LeaseHolder.current(command: "balance")
      let other = LeaseHolder.current(command: "migrate")
      let lease = try await store.acquireLease(cluster: "lab", holder: holder, duration: 30)
      clock.advance(25)
      let renewed = try await store.renewLease(lease, duration: 30)
      #expect(renewed.expiresAt == clock.now + 30)
      #expect(renewed.acquiredAt == lease.acquiredAt)
      clock.advance(25)  // past the first expiry, within the renewed one
      await #expect(throws: LeaseError.self) {
        try await store.acquireLease(cluster: "lab", holder: other, duration: 30)
      }
      let again = try await store.acquireLease(cluster: "lab", holder: holder, duration: 30)
      #expect(again.acquiredAt == lease.acquiredAt)
      #expect(again.tookOverFrom == nil)
      try await store.releaseLease(again)
      #expect(try await store.currentLease(cluster: "lab") == nil)
      let next = try await store.acquireLease(cluster: "lab", holder: other, duration: 30)
      #expect(next.tookOverFrom == nil)
      // Releasing a lease that is no longer ours leaves the new holder's alone.
      try await store.releaseLease(lease)
      #expect(try await store.currentLease(cluster: "lab")?.holder == other)
    }
  }

  @Test("the lease of a process that no longer exists on this host is taken over before it expires")
  func deadHolder() async throws {
    try await withStore { store, _ in
      let child = Process()
      child.executableURL = URL(fileURLWithPath: "/bin/true")
      try child.run()
      child.waitUntilExit()
      let me = LeaseHolder.current(command: "reconcile")
      let dead = LeaseHolder(
        id: "balance pid \(child.processIdentifier)", pid: child.processIdentifier, hostname: me.hostname)
      #expect(!LeaseHolder.processExists(dead.pid))
      _ = try await store.acquireLease(cluster: "lab", holder: dead, duration: 3600)
      let taken = try await store.acquireLease(cluster: "lab", holder: me, duration: 60)
      #expect(taken.tookOverFrom == dead)
      // On another host the pid means nothing: only expiry frees it.
      let remote = LeaseHolder(id: "balance on far", pid: child.processIdentifier, hostname: "far-away-host")
      try await store.releaseLease(taken)
      _ = try await store.acquireLease(cluster: "lab", holder: remote, duration: 3600)
      await #expect(throws: LeaseError.self) {
        try await store.acquireLease(cluster: "lab", holder: me, duration: 60)
      }
    }
  }

  @Test("withLease renews while its body runs and releases at the end", arguments: Backend.allCases)
  func withLeaseRenews(backend: Backend) async throws {
    let clock = ManualClock()
    try await withStore(backend, clock: clock.historyClock) { store, _ in
      let holder = LeaseHolder.current(command: "balance")
      let other = LeaseHolder.current(command: "drain")
      let expiries = try await store.withLease(cluster: "lab", holder: holder, duration: 10, renewInterval: 0.01) {
        lease in
        var seen = [lease.expiresAt]
        for _ in 0..<3 {
          clock.advance(8)  // past the previous expiry unless renewed
          seen.append(try await waitForRenewal(store, until: clock.now + 10))
          await #expect(throws: LeaseError.self) {
            try await store.acquireLease(cluster: "lab", holder: other, duration: 10)
          }
        }
        return seen
      }
      #expect(expiries.count == 4)
      #expect(zip(expiries, expiries.dropFirst()).allSatisfy { $0 < $1 })
      #expect(try await store.currentLease(cluster: "lab") == nil)
    }
  }

  @Test(
    "under a lease that was taken over, the journal refuses every write and withLease reports the loss",
    arguments: Backend.allCases)
  func withLeaseLost(backend: Backend) async throws {
    let clock = ManualClock()
    try await withStore(backend, clock: clock.historyClock) { store, _ in
      let holder = LeaseHolder.current(command: "balance")
      let other = LeaseHolder.current(command: "drain")
      let error = try await #require(throws: LeaseError.self) {
        try await store.withLease(cluster: "lab", holder: holder, duration: 10, renewInterval: 3600) { _ in
          // Another process takes the lease over (as after an expiry): the next epoch.
          try await store.executeForTest(
            "UPDATE cluster_leases SET holder = ?, pid = ?, hostname = ?, epoch = epoch + 1 WHERE cluster = 'lab'",
            other.id, other.pid, other.hostname)
          let refused = await #expect(throws: JournalFenced.self) {
            _ = try await store.recordPlan(plan([liveMove("web1", from: "h1", to: "h2")]), dryRun: false, at: clock.now)
          }
          #expect(refused?.epoch == 1)
          // Once refused, refused before reaching the database.
          await #expect(throws: JournalFenced.self) {
            _ = try await store.recordPlan(plan([liveMove("web1", from: "h1", to: "h2")]), dryRun: false, at: clock.now)
          }
        }
      }
      #expect(error == .lost(cluster: "lab", holder: holder, takenBy: other))
      #expect(try await store.currentLease(cluster: "lab")?.holder == other)
      #expect(try await store.plans().isEmpty)
    }
  }

  @Test("a fence left unrenewed for its lease's duration refuses writes for good, even after a late renewal")
  func unrenewedFenceIsRevoked() throws {
    let fresh = LeaseFence(cluster: "lab", epoch: 3, requested: .now, seconds: 10)
    try fresh.check()
    let stale = LeaseFence(cluster: "lab", epoch: 3, requested: .now - .seconds(11), seconds: 10)
    #expect(throws: JournalFenced.self) { try stale.check() }
    stale.extend(requested: .now, seconds: 10)
    let refusal = #expect(throws: JournalFenced.self) { try stale.check() }
    #expect(refusal?.epoch == 3)
    #expect(refusal?.detail.contains("not renewed in time") == true)
  }
}

/// Waits (up to 10 s of real time) until the lease has been renewed to expire at `expiry`.
private func waitForRenewal(_ store: HistoryStore, until expiry: Double) async throws -> Double {
  for _ in 0..<1000 {
    if let lease = try await store.currentLease(cluster: "lab"), lease.expiresAt >= expiry { return lease.expiresAt }
    try await Task.sleep(for: .milliseconds(10))
  }
  Issue.record("the lease was not renewed")
  return 0
}
