import BallastModel
import Testing

/// The pre-copy model under QEMU's windowed rate limiter, against cases worked out by hand.
///
/// All cases: M = 2.5MB, all of it touched; cap B = 10MB/s (windows of 1MB every 100 ms);
/// the window's bytes leave at L = 100MB/s; W = 10MB; T = 100 ms: threshold B·T = 1MB.
@Suite("Cost model under QEMU's rate limiter")
struct RateLimiterModelTests {
  static let cap = 10_000_000.0
  static let link = 100_000_000.0

  static func parameters(dirtyRate: Double, limited: Bool = true) -> PreCopyParameters {
    PreCopyParameters(
      memory: ByteCount(2_500_000), dirtyRate: Bandwidth(bytesPerSecond: dirtyRate),
      workingSet: ByteCount(10_000_000), downtimeLimit: .milliseconds(100),
      rateLimiter: limited ? RateLimiterWindows(cappedRate: cap, burstRate: link) : nil)
  }

  static func predict(_ parameters: PreCopyParameters) -> LivePrediction {
    PreCopyRun.predict(
      parameters, bandwidth: Bandwidth(bytesPerSecond: cap), finalBandwidth: Bandwidth(bytesPerSecond: link))
  }

  static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(b)) }

  /// D = 4MB/s. The first pass is two full windows and half a third, which leaves at L without
  /// the sleep: 0.2 + 0.5MB/L = 0.205s, not 2.5MB/B = 0.25s. The guest dirtied 0.82MB in that
  /// time, under the threshold: the guest stops after one round; 0.82MB go in the pause.
  /// A steady 10MB/s would have let it dirty 1MB, and a second round would follow.
  @Test("The first pass ends after its last burst, and the guest dirties only that long")
  func firstPassEndsAfterItsBurst() {
    let limited = Self.predict(Self.parameters(dirtyRate: 4_000_000))
    #expect(limited.rounds == 1)
    #expect(Self.close(limited.bytes, 3_320_000))
    #expect(Self.close(limited.totalSeconds, 0.205 + 0.0082))
    let steady = Self.predict(Self.parameters(dirtyRate: 4_000_000, limited: false))
    #expect(steady.rounds == 2)
  }

  /// D = 6MB/s. Round 0: 0.205s, 1.23MB dirtied. The bitmap is looked at when the next window
  /// opens: round 1 sends the 0.5MB left in the third window and ends at 0.3s (0.095s of
  /// dirtying): 0.73MB left + 0.57MB = 1.3MB. Round 2: one window, 1MB, ends at 0.4s: 0.3MB
  /// left + 0.6MB = 0.9MB, under the threshold. Total 0.4s + 0.9MB/L; 4.9MB sent.
  @Test("Later rounds end when a window opens")
  func laterRoundsEndOnWindowEdges() {
    let p = Self.predict(Self.parameters(dirtyRate: 6_000_000))
    #expect(p.rounds == 3)
    #expect(Self.close(p.bytes, 4_900_000))
    #expect(Self.close(p.totalSeconds, 0.4 + 0.009))
  }

  /// The limiter only paces a transfer that runs at its cap: a share of the link below it goes
  /// at a steady rate.
  @Test("Below the cap, the rounds go at a steady rate")
  func belowTheCapSteady() {
    let limiter = RateLimiterWindows(cappedRate: Self.cap, burstRate: Self.link)
    #expect(limiter.window(at: Self.cap) == 1_000_000)
    #expect(limiter.window(at: Self.cap / 2) == nil)
    #expect(RateLimiterWindows(cappedRate: Self.cap, burstRate: Self.cap).window(at: Self.cap) == nil)
  }

  /// The case of ``laterRoundsEndOnWindowEdges()`` measured on hosts whose cap is QEMU's
  /// limiter (pre-copy sent 4MB in 0.395s, a little over its cap). The learner replays it paced
  /// by the windows, as the planner predicts it, and finds the guest's 6MB/s; replayed at a
  /// steady rate it would find another, which the paced prediction would then get wrong.
  @Test("A transfer paced by QEMU's windows teaches the dirty rate the prediction needs")
  func learnerReplaysTheWindows() throws {
    let truth = Self.predict(Self.parameters(dirtyRate: 6_000_000))
    let final = 900_000.0
    let vm = VM(
      name: "v", host: "a", vcpus: 1, memory: ByteCount(2_500_000), cpuModel: "qemu64",
      usage: Usage(cpu: 1, memory: 1), dirtyRate: Bandwidth(bytesPerSecond: 32_000_000),
      workingSet: ByteCount(10_000_000))
    let observation = MigrationObservation(
      vm: "v", from: "a", to: "b", kind: .live, vmAtStart: vm, downtimeLimitSeconds: 0.1,
      convergence: Convergence(), nominalRate: Self.link, cap: Self.cap, fairShare: 1,
      totalSeconds: truth.totalSeconds, setupSeconds: 0, transferSeconds: truth.totalSeconds, finishSeconds: 0,
      bytes: truth.bytes, rounds: truth.rounds, firstRoundBytes: 2_500_000, finalCopyBytes: final,
      downtimeSeconds: final / Self.link + CostPriors().pauseSeconds, rateLimiter: true)
    var estimates = VMEstimates()
    var link = LinkEstimates()
    CostLearner.learn(from: observation, vm: &estimates, link: &link)
    let learned = try #require(estimates.dirtyRate?.value)
    #expect(abs(learned - 6_000_000) < 6_000)
  }
}
