import BallastModel
import Testing

@testable import BallastPlanner

/// The pre-copy and cold models against cases worked out by hand (see each test's comment).
@Suite("Cost model")
struct CostModelTests {
  static let gib = 1_073_741_824.0
  static let mib = 1_048_576.0
  static let oneGiBPerSecond = Bandwidth(bytesPerSecond: gib)

  static func parameters(
    memoryGiB: Double, dirtyMiBps: Double, workingSetGiB: Double, limitMs: Double = 300,
    change: (inout Convergence) -> Void = { _ in }
  ) -> PreCopyParameters {
    var convergence = Convergence()
    change(&convergence)
    return PreCopyParameters(
      memory: .gib(memoryGiB), dirtyRate: Bandwidth(bytesPerSecond: dirtyMiBps * mib), workingSet: .gib(workingSetGiB),
      downtimeLimit: .milliseconds(limitMs), convergence: convergence)
  }

  static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(b)) }

  /// M = 8GiB (all touched), B = 1GiB/s, D = 100MiB/s, W = 1GiB, T = 300ms: threshold B·T = 0.3GiB,
  /// QEMU's iterations send 0.1GiB each. Round 0 sends 8GiB in 8s; the guest dirtied 800MiB.
  /// Round 1: iterations until under 0.3GiB: ⌊(0.78125 − 0.3)/0.1⌋ + 1 = 5, 0.5GiB in 0.5s; left
  /// 0.28125GiB, plus 50MiB dirtied = 0.330078125GiB, not under the threshold: round 2 sends one
  /// iteration, 0.1GiB in 0.1s; left 0.230078125GiB plus 10MiB = 0.23984375GiB < 0.3GiB: the
  /// guest stops mid-pass and the rest goes in the pause.
  @Test("The switchover is decided mid-pass, once what is left plus what was dirtied fits")
  func convergesMidPass() {
    let p = PreCopyRun.predict(
      Self.parameters(memoryGiB: 8, dirtyMiBps: 100, workingSetGiB: 1), bandwidth: Self.oneGiBPerSecond)
    let pause = 0.23984375
    #expect(p.converges)
    #expect(p.rounds == 3)
    #expect(Self.close(p.downtimeSeconds, pause))
    #expect(Self.close(p.totalSeconds, 8 + 0.5 + 0.1 + pause))
    #expect(Self.close(p.bytes, (8 + 0.5 + 0.1 + pause) * Self.gib))
    #expect(p.intervention == nil)
    #expect(p.throttle == 0)
  }

  /// The same migration with a 10GiB/s link under a 1GiB/s cap: QEMU lifts the cap for the last
  /// pages, so the pause is 0.23984375GiB at 10GiB/s, plus the pause's fixed part (5ms here).
  @Test("The final copy goes without the bandwidth cap")
  func finalCopyUncapped() {
    var parameters = Self.parameters(memoryGiB: 8, dirtyMiBps: 100, workingSetGiB: 1)
    parameters.pauseOverhead = .milliseconds(5)
    let p = PreCopyRun.predict(
      parameters, bandwidth: Self.oneGiBPerSecond, finalBandwidth: Bandwidth(bytesPerSecond: 10 * Self.gib))
    #expect(Self.close(p.downtimeSeconds, 0.023984375 + 0.005))
    #expect(Self.close(p.totalSeconds, 8.6 + 0.023984375 + 0.005))
  }

  /// M = 8GiB of which 2GiB touched: the 6GiB of zero pages cost QEMU 9 bytes a page, so the one
  /// pass of an idle guest sends 2GiB + 6GiB × 9/4096.
  @Test("Zero pages cost (almost) nothing")
  func zeroPages() {
    let parameters = PreCopyParameters(
      memory: .gib(8), touchedMemory: .gib(2), dirtyRate: .zero, workingSet: .zero,
      downtimeLimit: .milliseconds(300))
    let p = PreCopyRun.predict(parameters, bandwidth: Self.oneGiBPerSecond)
    let sent = 2 + 6 * 9.0 / 4096
    #expect(p.rounds == 1)
    #expect(Self.close(p.totalSeconds, sent))
    #expect(Self.close(p.bytes, sent * Self.gib))
    #expect(p.downtimeSeconds == 0)
  }

  /// M = 4GiB, B = 1GiB/s, D = 2GiB/s, W = 2GiB, QEMU rule, abort. Round 0: 4s, the whole working
  /// set dirty. Each later round sends 18 iterations (1.8GiB, 1.8s) and finds the working set dirty
  /// again; after rounds 1 and 2 it did not shrink twice in a row → abort after 3 rounds.
  @Test("Never converges: the guest dirties faster than the link (QEMU rule, abort)")
  func neverConvergesQEMU() {
    let p = PreCopyRun.predict(
      Self.parameters(memoryGiB: 4, dirtyMiBps: 2048, workingSetGiB: 2) { $0.onNoConvergence = .abort },
      bandwidth: Self.oneGiBPerSecond)
    #expect(!p.converges)
    #expect(p.rounds == 3)
    #expect(Self.close(p.totalSeconds, 7.6))
    #expect(Self.close(p.bytes, 7.6 * Self.gib))
    #expect(p.downtimeSeconds == 0)
    #expect(p.intervention == .abort)
    #expect(
      p.abortReason == "pre-copy does not converge: after 3 rounds 2GiB stay dirty, a 2s pause, over the 300ms limit")
  }

  /// The same VM under Xen's caps: rounds go on while sent + dirty stays within 3·M = 12GiB:
  /// 4 + 1.8 × 3 + 2 = 11.4GiB after 4 rounds; after the 5th, 11.2 + 2 passes it → abort.
  @Test("Never converges: Xen's 3×memory cap")
  func neverConvergesXen() {
    let p = PreCopyRun.predict(
      Self.parameters(memoryGiB: 4, dirtyMiBps: 2048, workingSetGiB: 2) {
        $0.stopRule = .xen
        $0.onNoConvergence = .abort
      }, bandwidth: Self.oneGiBPerSecond)
    #expect(!p.converges)
    #expect(p.rounds == 5)
    #expect(Self.close(p.totalSeconds, 11.2))
    #expect(Self.close(p.bytes, 11.2 * Self.gib))
  }

  /// Xen's round cap: with R = 2 the same VM stops after two rounds (4s + 1.8s).
  @Test("Never converges: the round cap")
  func roundCap() {
    let p = PreCopyRun.predict(
      Self.parameters(memoryGiB: 4, dirtyMiBps: 2048, workingSetGiB: 2) {
        $0.stopRule = .xen
        $0.maxRounds = 2
        $0.onNoConvergence = .abort
      }, bandwidth: Self.oneGiBPerSecond)
    #expect(!p.converges)
    #expect(p.rounds == 2)
    #expect(Self.close(p.totalSeconds, 5.8))
  }

  /// M = 4GiB, B = D = 1GiB/s, W = 1GiB, T = 250ms, throttle. Round 0 (4s) dirties 1GiB, not more
  /// than half of the 4GiB it sent. Rounds 1–4 send 0.8GiB in 0.8s and find 0.8GiB newly dirty.
  /// QEMU looks at syncs more than 1s apart: after round 2 (1.6s: 1.6GiB dirtied > half of 1.6GiB
  /// sent) the counter is 1, after round 4 it is 2: the guest is throttled to 20 %, then +10 %
  /// at every second fast period, until it converges.
  @Test("Auto-converge: the throttle starts at the second fast period, at 20 %")
  func autoConverge() {
    var run = PreCopyRun(Self.parameters(memoryGiB: 4, dirtyMiBps: 1024, workingSetGiB: 1, limitMs: 250))
    var throttles: [Double] = []
    for _ in 0..<5 {
      guard case .round(_, _, let seconds, _) = run.next(bandwidth: Self.oneGiBPerSecond) else { break }
      run.completeRound(seconds: seconds)
      throttles.append(run.throttle)
    }
    #expect(throttles == [0, 0, 0, 0, 0.2])
    #expect(Self.close(run.elapsed, 7.2))
    #expect(Self.close(run.effectiveDirtyRate, 0.8 * Self.gib))
    let p = PreCopyRun.predict(
      Self.parameters(memoryGiB: 4, dirtyMiBps: 1024, workingSetGiB: 1, limitMs: 250), bandwidth: Self.oneGiBPerSecond)
    #expect(p.converges)
    #expect(p.throttle >= 0.2)
    #expect(p.intervention == .throttle)
    #expect(p.downtimeSeconds <= 0.25)
  }

  /// A throttle p leaves the guest 1 − p of its CPU: one busy 30 % of its time is not slowed at
  /// 50 %; a CPU-bound one (or one whose load is unknown) dirties half as fast; one busy 80 %,
  /// 0.5/0.8 as fast.
  @Test("The throttle slows a guest only below the CPU it uses")
  func throttleResponse() {
    #expect(PreCopyRun.dirtyRate(100, throttle: 0.5, cpuBusy: 0.3) == 100)
    #expect(PreCopyRun.dirtyRate(100, throttle: 0.5, cpuBusy: 1) == 50)
    #expect(PreCopyRun.dirtyRate(100, throttle: 0.5, cpuBusy: 0) == 50)
    #expect(Self.close(PreCopyRun.dirtyRate(100, throttle: 0.5, cpuBusy: 0.8), 62.5))
  }

  /// A guest that dirties nothing: one full pass, then a pause of its fixed part only.
  @Test("An idle guest needs one pass")
  func idleGuest() {
    let p = PreCopyRun.predict(
      Self.parameters(memoryGiB: 2, dirtyMiBps: 0, workingSetGiB: 0), bandwidth: Self.oneGiBPerSecond)
    #expect(p.converges)
    #expect(p.rounds == 1)
    #expect(Self.close(p.totalSeconds, 2))
    #expect(p.downtimeSeconds == 0)
  }

  /// The planner's live prediction runs pre-copy at min(source link, destination link, policy
  /// cap), the last pages at the slower link, and adds the steps around the transfer.
  @Test(
    "Bandwidth share is the slowest of the two links and the cap",
    arguments: [
      (8.0, 25.0, nil, 1e9), (25.0, 8.0, nil, 1e9), (25.0, 25.0, 1e9 / 2, 5e8),
    ] as [(Double, Double, Double?, Double)])
  func bandwidthShare(source: Double, destination: Double, cap: Double?, expected: Double) throws {
    let cluster = Fixture.cluster(
      [Fixture.host("a", linkGbit: source), Fixture.host("b", linkGbit: destination)],
      [Fixture.vm("v", on: "a", memoryGiB: 8, dirtyMBps: 0)])
    let policy = Fixture.policy { $0.bandwidthCap = cap.map { Bandwidth(bytesPerSecond: $0) } }
    let state = PlacementState(cluster: cluster, policy: policy)
    let move = MoveRequest(vm: 0, destination: 1)
    #expect(state.bandwidth(from: 0, to: 1).bytesPerSecond == expected)
    var cache = PredictionCache()
    let decision = try #require(MigrationKindSelector(policy: policy).decide(move, in: state, cache: &cache).decision)
    #expect(decision.kind == .live)
    // Round 0 sends the touched half of the 8 GiB (usage.memory 0.5) and the other half's zero
    // pages; the guest dirties nothing; then the pause's fixed part and the steps around it.
    let priors = CostPriors()
    let sent = 4 * Self.gib * (1 + 9.0 / 4096)
    let steps = priors.liveSetupSeconds + priors.liveFinishSeconds + priors.pauseSeconds
    #expect(Self.close(decision.predicted.seconds, sent / expected + steps))
    #expect(Self.close(decision.predicted.downtimeMs, priors.pauseSeconds * 1000))
  }

  /// Cold: configuration (1MiB) plus the 40GiB local disk at 1GiB/s = 40.0009765625s, and the
  /// steps around the copy (0.2s before, 0.6s after); a running VM adds its shutdown and boot (the
  /// file's, else 20s and 15s), and is down for all of it. A thin disk copies what it allocated.
  @Test("Cold prediction: bytes to copy over the share, the steps, shutdown and boot when running")
  func coldPrediction() {
    let disk = Disk(datastore: "src-local", size: .gib(40))
    let model = CostModel()
    let a = Fixture.host("a", linkGbit: 8 * Self.gib / 1e9)
    let b = Fixture.host("b", linkGbit: 8 * Self.gib / 1e9)
    let policy = Policy()
    let copy = 40 + 1.0 / 1024
    let off = model.predictCold(
      vm: Fixture.vm("off", on: "a", state: .stopped, disks: [disk]), disksToCopy: [disk], from: a, to: b,
      policy: policy)
    #expect(Self.close(off.totalSeconds, copy + 0.8))
    #expect(off.downtimeSeconds == 0)
    #expect(Self.close(off.bytes, 40 * Self.gib + Self.mib))
    let running = model.predictCold(
      vm: Fixture.vm("on", on: "a", disks: [disk]), disksToCopy: [disk], from: a, to: b, policy: policy)
    #expect(Self.close(running.totalSeconds, copy + 0.8 + 35))
    #expect(Self.close(running.downtimeSeconds, copy + 0.8 + 35))
    var quick = Fixture.vm("quick", on: "a", disks: [disk])
    quick.shutdownTime = .seconds(2)
    quick.bootTime = .seconds(3)
    let thin = Disk(datastore: "src-local", size: .gib(40), allocated: .gib(10))
    let fast = model.predictCold(vm: quick, disksToCopy: [thin], from: a, to: b, policy: policy)
    #expect(Self.close(fast.totalSeconds, 10 + 1.0 / 1024 + 0.8 + 5))
    #expect(Self.close(fast.bytes, 10 * Self.gib + Self.mib))
  }

  @Test("Cost units: one per move, one per minute, one per 5 seconds of outage")
  func costUnits() {
    #expect(MigrationCost.units(PredictedCost(seconds: 0, downtimeMs: 0, bytes: 0, rounds: 0, converges: true)) == 1)
    #expect(MigrationCost.units(PredictedCost(seconds: 60, downtimeMs: 0, bytes: 0, rounds: 1, converges: true)) == 2)
    #expect(
      MigrationCost.units(PredictedCost(seconds: 30, downtimeMs: 30_000, bytes: 0, rounds: 0, converges: true)) == 7.5)
  }

  /// A live move a → b that took 0.09s before and 0.03s after its transfer, at 60 % of the link.
  @Test("Steps learned one way serve both ways; the link's rate stays with its direction")
  func stepsLearnedForBothDirections() throws {
    let cluster = Fixture.cluster(
      [Fixture.host("a", linkGbit: 1), Fixture.host("b", linkGbit: 1)],
      [Fixture.vm("v", on: "a", memoryGiB: 1, dirtyMBps: 0)])
    let vm = try #require(cluster.vm(named: "v"))
    let observation = MigrationObservation(
      vm: "v", from: "a", to: "b", kind: .live, vmAtStart: vm, downtimeLimitSeconds: 0.3,
      convergence: Convergence(), nominalRate: 1.25e8, cap: nil, fairShare: 1, totalSeconds: 2.12,
      setupSeconds: 0.09, transferSeconds: 2, finishSeconds: 0.03, bytes: 1.5e8, rounds: 1,
      firstRoundBytes: 1.5e8, finalCopyBytes: 0, downtimeSeconds: 0.005)
    var learned = LearnedEstimates()
    learned.learn(from: observation)
    let model = CostModel(learned: learned)
    let (a, b) = (try #require(cluster.host(named: "a")), try #require(cluster.host(named: "b")))
    for link in [model.link(from: a, to: b), model.link(from: b, to: a)] {
      #expect(link.liveSetupSeconds == Figure(0.09, .learned(migrations: 1)))
      #expect(link.liveFinishSeconds == Figure(0.03, .learned(migrations: 1)))
    }
    #expect(model.link(from: a, to: b).efficiency.source == .learned(migrations: 1))
    #expect(model.link(from: a, to: b).efficiency.value < 0.7)
    #expect(model.link(from: b, to: a).efficiency == Figure(1, .assumed))
  }
}
