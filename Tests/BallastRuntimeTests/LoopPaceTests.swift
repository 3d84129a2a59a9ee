import BallastEngine
import BallastModel
import BallastTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import BallastRuntime

/// Issue 11, class 10: the loop's interval, hold, cooldowns and samples count on the cluster's
/// clock, so a paced simulated cluster behaves the same at every pace.
@Suite("Balancing loop under --pace")
struct LoopPaceTests {
  /// The loop cluster under a policy that acts after 10 s above the threshold, every 5 s.
  static func policy() -> Policy {
    var policy = loopPolicy()
    policy.holdFor = .seconds(10)
    policy.monitor.interval = .seconds(5)
    return policy
  }

  /// Runs the loop service on a paced virtual clock until it moves VMs (or 100 real seconds
  /// pass: at pace 2 it acts after ~13 s real alone, and took over 30 s while every other
  /// suite loads the machine); returns the virtual times of its rounds until it acted, and
  /// whether it did.
  static func runLoop(pace: Double) async throws -> (rounds: [Double], acted: Bool, spacing: RoundSpacing) {
    let cluster = loopCluster()
    let clock = VirtualClock()
    let driver = try SimulatedDriver(cluster: cluster, clock: clock)
    let spacing = RoundSpacing(interval: policy().monitor.interval.seconds, pace: pace)
    let controller = BalanceController(
      driver: driver, clock: clock, journal: InMemoryJournal(), history: InMemoryLoopHistory(), policy: policy(),
      options: .init(cluster: cluster.name, requireHold: true, trigger: .loop, interval: spacing.interval),
      hosts: cluster.hosts, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    let pacer = VirtualPacer(clock: clock, rate: pace)
    defer { pacer.stop() }
    let rounds = Mutex<[(at: Double, moved: Int)]>([])
    let service = BalanceLoopService(
      controller: controller, clock: clock, spacing: spacing, reloadPolicy: nil,
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
      onRound: { report in
        rounds.withLock { $0.append((report.at, report.decision.moved)) }
        if report.decision.moved > 0 { Task { await controller.stop() } }
      })
    let running = Task { try await service.run() }
    let deadline = Date().addingTimeInterval(100)
    while Date() < deadline, !rounds.withLock({ $0.contains { $0.moved > 0 } }) {
      try await Task.sleep(for: .milliseconds(50))
    }
    await controller.stop()
    try await running.value
    let seen = rounds.withLock { $0 }
    // The rounds up to the first that moved VMs (the next ones wait for its migrations too).
    let upToAction = seen.firstIndex { $0.moved > 0 }.map { Array(seen[...$0]) } ?? seen
    return (upToAction.map(\.at), seen.contains { $0.moved > 0 }, spacing)
  }

  @Test(.timeLimit(.minutes(2)), arguments: [2.0, 10, 60, 600, 6000])
  func theLoopActsOnceTheHoldHasLastedAtAnyPace(pace: Double) async throws {
    let (rounds, acted, spacing) = try await Self.runLoop(pace: pace)
    #expect(acted, "at pace \(pace) the loop never acted in \(rounds.count) rounds")
    let gaps = zip(rounds.dropFirst(), rounds).map { $0 - $1 }
    // Rounds are an interval apart on the cluster's clock (a pacer tick of 50 ms real may add to it).
    #expect(gaps.allSatisfy { $0 >= spacing.interval - 1e-6 }, "gaps \(gaps)")
    #expect(gaps.allSatisfy { $0 <= spacing.interval + 0.05 * pace + 1 }, "gaps \(gaps) rounds \(rounds)")
    // It acts on the third or fourth round: the hold (10 s) is two intervals of 5 s.
    #expect(rounds.count <= 4 || spacing.interval > 5, "\(rounds.count) rounds")
  }

  @Test func theRealTimeFloorStretchesTheIntervalOnTheClustersClock() {
    let fast = RoundSpacing(interval: 5, pace: 600)
    #expect(fast.interval == 30)
    #expect(fast.note?.contains("every 30s") == true)
    let slow = RoundSpacing(interval: 5, pace: 60)
    #expect(slow.interval == 5 && slow.note == nil)
    let real = RoundSpacing(interval: 1, pace: nil)
    #expect(real.interval == 1 && real.realSecondsPerClockSecond == 1)
  }

  /// The example of the issue, as a process: the demo cluster at --pace 60 with holdFor 10s
  /// and interval 5s moves VMs within seconds.
  @Test(.timeLimit(.minutes(2)))
  func theDemoClusterAtPaceSixtyActs() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    try FileManager.default.copyItem(
      at: BallastProcess.repositoryRoot.appendingPathComponent("clusters/demo.yaml"),
      to: folder.appendingPathComponent("demo.yaml"))
    try "name: quick\nholdFor: 10s\nmonitor: {interval: 5s}\n".write(
      to: folder.appendingPathComponent("quick.yaml"), atomically: true, encoding: .utf8)
    let loop = try BallastProcess.Background(
      [
        "balance", "--loop", "--json", "--pace", "60", "--cluster", "demo.yaml", "--policy", "quick.yaml", "--db",
        "h.sqlite",
      ], in: folder)
    let acted = await loop.wait(upTo: 60) { loop.stdout.contains("\"decision\":\"executed\"") }
    loop.signal(SIGTERM)
    #expect(await loop.waitForExit(upTo: 60) == 0)
    #expect(acted, "stdout: \(loop.stdout.suffix(600)) stderr: \(loop.stderr.suffix(600))")
  }
}
