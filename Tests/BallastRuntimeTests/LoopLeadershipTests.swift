import BallastEngine
import BallastHistory
import BallastModel
import BallastTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import BallastRuntime

/// A leadership whose claims follow a script (then repeat its last answer).
actor ScriptedLeadership: LoopLeadership {
  private var script: [LeadershipClaim]
  private(set) var claims = 0

  init(_ script: [LeadershipClaim]) { self.script = script }

  func claim() async throws -> LeadershipClaim {
    claims += 1
    return script.count > 1 ? script.removeFirst() : script[0]
  }
  func renew() async {}
  var isLeading: Bool { if case .leading = script[0] { true } else { false } }
  nonisolated var renewInterval: Double { 3600 }
  func release() async {}
}

/// What the loop said about its role and did, in order.
final class LoopLog: LoopRoleObserver, Sendable {
  let entries = Mutex<[String]>([])
  func add(_ entry: String) { entries.withLock { $0.append(entry) } }
  func standingBy(leader: String) { add("standby \(leader)") }
  func becameActive() { add("active") }
}

@Suite("Active/standby balancing loop")
struct LoopLeadershipTests {
  static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

  /// Runs the loop with `leadership` until `done` says so (or 90 real seconds pass).
  static func run(
    _ leadership: any LoopLeadership, log: LoopLog, onTakeover: @escaping @Sendable () async throws -> Void,
    until done: @escaping @Sendable ([String]) -> Bool
  ) async throws {
    let cluster = loopCluster()
    let clock = VirtualClock()
    let driver = try SimulatedDriver(cluster: cluster, clock: clock)
    var policy = loopPolicy()
    policy.threshold = 0.99  // rounds run and decide; nothing moves
    let spacing = RoundSpacing(interval: 1, pace: 20)
    let controller = BalanceController(
      driver: driver, clock: clock, journal: InMemoryJournal(), history: InMemoryLoopHistory(), policy: policy,
      options: .init(cluster: cluster.name, requireHold: true, trigger: .loop, interval: spacing.interval),
      hosts: cluster.hosts, logger: quiet)
    let pacer = VirtualPacer(clock: clock, rate: 20)
    defer { pacer.stop() }
    let service = BalanceLoopService(
      controller: controller, clock: clock, spacing: spacing, reloadPolicy: nil, logger: quiet,
      onRound: { _ in log.add("round") }
    ).led(by: leadership, onTakeover: onTakeover).reportingRole(to: log)
    let running = Task { try await service.run() }
    // Generous: the loop and its pacer share the cooperative pool with every other test.
    _ = await eventually(timeout: 90) { done(log.entries.withLock { $0 }) }
    await controller.stop()
    try await running.value
  }

  @Test("a standby runs no round; the instance that takes the lead reconciles first, then runs rounds")
  func standbyThenTakeover() async throws {
    let leader = ClusterLease(
      cluster: "loop", holder: LeaseHolder(id: "other", pid: 1, hostname: "far"), acquiredAt: 0, renewedAt: 0,
      expiresAt: 30, purpose: .leader)
    let leadership = ScriptedLeadership([
      .standingBy(leader: leader), .standingBy(leader: leader),
      .leading(fresh: true, tookOverFrom: leader.holder), .leading(fresh: false, tookOverFrom: nil),
    ])
    let log = LoopLog()
    try await Self.run(leadership, log: log, onTakeover: { log.add("reconcile") }) { entries in
      entries.filter { $0 == "round" }.count >= 2
    }
    let entries = log.entries.withLock { $0 }
    #expect(Array(entries.prefix(5)) == ["standby other", "standby other", "active", "reconcile", "round"])
    #expect(entries.filter { $0 == "reconcile" }.count == 1)
  }

  @Test("a leader that cannot reconcile yet runs no round, and tries again at the next interval")
  func reconcileRetried() async throws {
    let leadership = ScriptedLeadership([
      .leading(fresh: true, tookOverFrom: nil), .leading(fresh: false, tookOverFrom: nil),
    ])
    let log = LoopLog()
    let attempts = Mutex(0)
    try await Self.run(
      leadership, log: log,
      onTakeover: {
        let attempt = attempts.withLock { value -> Int in
          value += 1
          return value
        }
        log.add("reconcile \(attempt)")
        if attempt == 1 {
          throw LeaseError.lost(cluster: "loop", holder: LeaseHolder.current(command: "t"), takenBy: nil)
        }
      },
      until: { $0.contains("round") })
    let entries = log.entries.withLock { $0 }
    #expect(Array(entries.prefix(4)) == ["active", "reconcile 1", "reconcile 2", "round"])
  }

  @Test("leases in the history: one leads, the other stands by, and takes over when the lead expires")
  func storeLeadership() async throws {
    try await withTemporaryDirectory { directory in
      let now = Mutex(1_767_225_600.0)
      let clock = HistoryClock { now.withLock { $0 } }
      let path = directory.appendingPathComponent("h.sqlite").path
      let first = StoreLeadership(
        store: try HistoryStore(path: path, clock: clock), cluster: "lab",
        holder: LeaseHolder(id: "first", pid: 1, hostname: "machine-a"), duration: 30)
      let second = StoreLeadership(
        store: try HistoryStore(path: path, clock: clock), cluster: "lab",
        holder: LeaseHolder(id: "second", pid: 2, hostname: "machine-b"), duration: 30)

      #expect(try await first.claim() == .leading(fresh: true, tookOverFrom: nil))
      #expect(await first.isLeading)
      guard case .standingBy(let leader) = try await second.claim() else {
        Issue.record("the second instance should stand by")
        return
      }
      #expect(leader.holder.id == "first" && leader.purpose == .leader)
      #expect(try await first.claim() == .leading(fresh: false, tookOverFrom: nil))

      // The first stops renewing (its clock on the database moves past the lease).
      now.withLock { $0 += 31 }
      guard case .leading(true, let previous) = try await second.claim() else {
        Issue.record("the second instance should take over")
        return
      }
      #expect(previous?.id == "first")
      guard case .standingBy(let current) = try await first.claim() else {
        Issue.record("the first instance should stand by now")
        return
      }
      #expect(current.holder.id == "second")
      #expect(current.epoch == leader.epoch + 1)

      // A clean stop gives the lead up at once.
      await second.release()
      #expect(try await first.claim() == .leading(fresh: true, tookOverFrom: nil))
    }
  }
}
