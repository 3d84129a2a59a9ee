import BallastDriverSupport
import BallastEngine
import BallastModel
import Testing

@Suite("ConvergenceWatch: the policy's convergence rules for every driver")
struct ConvergenceWatchTests {
  static func watch(_ action: NoConvergenceAction, maxRounds: Int = 30) -> ConvergenceWatch {
    var convergence = Convergence()
    convergence.onNoConvergence = action
    convergence.maxRounds = maxRounds
    convergence.maxDowntime = .seconds(1)
    return ConvergenceWatch(
      settings: LiveSettings(downtimeLimit: .milliseconds(50), bandwidthCap: nil, convergence: convergence),
      memory: 1e9, bandwidth: 1e8)
  }

  /// Rounds whose remaining bytes never shrink: stalled after the third.
  static func stall(_ watch: inout ConvergenceWatch, rounds: Int) -> [ConvergenceWatch.Action] {
    (0..<rounds).map { i in
      watch.roundEnded(remaining: 5e8, transferred: Double(i + 1) * 1e8, bandwidth: 1e8)
      return watch.action()
    }
  }

  @Test("a shrinking transfer converges: nothing to do")
  func shrinking() {
    var watch = Self.watch(.abort)
    for i in 0..<5 {
      watch.roundEnded(remaining: 5e8 / Double(i + 1), transferred: Double(i + 1) * 1e8, bandwidth: 1e8)
      #expect(watch.action() == .none)
    }
    #expect(!watch.notConverging)
  }

  @Test("abort: stopped once remaining stalls for two rounds, with what stays dirty")
  func abort() throws {
    var watch = Self.watch(.abort)
    let actions = Self.stall(&watch, rounds: 3)
    #expect(actions[0] == .none && actions[1] == .none)
    guard case .abort(let reason) = actions[2] else { Issue.record("expected abort, got \(actions[2])"); return }
    #expect(reason.contains("after 3 rounds") && reason.contains("50ms limit"), "\(reason)")
  }

  @Test("raiseLimit: the limit goes to maxDowntime once, then the transfer is stopped two rounds later")
  func raiseLimit() {
    var watch = Self.watch(.raiseLimit)
    let actions = Self.stall(&watch, rounds: 7)
    #expect(actions[2] == .raiseDowntimeLimit(milliseconds: 1000))
    #expect(actions[3] == .none)
    guard case .abort(let reason) = actions[4] else { Issue.record("expected abort, got \(actions[4])"); return }
    #expect(reason.contains("even with the limit raised to 1s"), "\(reason)")
  }

  @Test("accept: any downtime, once")
  func accept() {
    var watch = Self.watch(.accept)
    let actions = Self.stall(&watch, rounds: 6)
    #expect(actions[2] == .raiseDowntimeLimit(milliseconds: ConvergenceWatch.unlimitedDowntimeMs))
    #expect(actions[3...].allSatisfy { $0 == .none })
  }

  @Test("throttle: the backend throttles; fully throttled for three times the round cap, any downtime")
  func throttle() {
    var watch = Self.watch(.throttle, maxRounds: 2)
    let early = Self.stall(&watch, rounds: 5)
    #expect(early.allSatisfy { $0 == .none }, "not throttled yet: \(early)")
    watch.observe(throttle: 0.99, transferred: 6e8)
    let late = Self.stall(&watch, rounds: 2)
    #expect(late.contains(.raiseDowntimeLimit(milliseconds: ConvergenceWatch.unlimitedDowntimeMs)), "\(late)")
  }

  @Test("the round cap stops a transfer even while it shrinks")
  func roundCap() {
    var watch = Self.watch(.abort, maxRounds: 3)
    for i in 0..<3 { watch.roundEnded(remaining: 1e8 / Double(i + 1), transferred: 0, bandwidth: 1e8) }
    #expect(watch.notConverging)
  }
}
