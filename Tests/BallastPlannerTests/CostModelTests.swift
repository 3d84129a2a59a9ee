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

  /// M = 8GiB, B = 1GiB/s, D = 100MiB/s, W = 1GiB, T = 300ms.
  /// Round 0 sends 8GiB in 8s; round 1 sends min(1GiB, 100MiB/s × 8s) = 800MiB in 0.78125s;
  /// then 100MiB/s × 0.78125s = 78.125MiB remain: 0.0763s ≤ 0.3s, so stop-and-copy.
  @Test("Converges after two rounds")
  func convergesInTwoRounds() {
    let p = PreCopyRun.predict(
      Self.parameters(memoryGiB: 8, dirtyMiBps: 100, workingSetGiB: 1), bandwidth: Self.oneGiBPerSecond)
    let pause = 78.125 / 1024
    #expect(p.converges)
    #expect(p.rounds == 2)
    #expect(Self.close(p.downtimeSeconds, pause))
    #expect(Self.close(p.totalSeconds, 8 + 0.78125 + pause))
    #expect(Self.close(p.bytes, 8 * Self.gib + (800 + 78.125) * Self.mib))
    #expect(p.intervention == nil)
    #expect(p.throttle == 0)
  }

  /// M = 4GiB, B = 1GiB/s, D = 2GiB/s, W = 2GiB, QEMU rule, abort. The guest dirties faster
  /// than the link sends: every round leaves the whole 2GiB working set dirty. Round 0: 4s;
  /// rounds 1 and 2: 2s each; after round 2 two rounds in a row did not shrink → abort.
  @Test("Never converges: the guest dirties faster than the link (QEMU rule, abort)")
  func neverConvergesQEMU() {
    let p = PreCopyRun.predict(
      Self.parameters(memoryGiB: 4, dirtyMiBps: 2048, workingSetGiB: 2) { $0.onNoConvergence = .abort },
      bandwidth: Self.oneGiBPerSecond)
    #expect(!p.converges)
    #expect(p.rounds == 3)
    #expect(Self.close(p.totalSeconds, 8))
    #expect(Self.close(p.bytes, 8 * Self.gib))
    #expect(p.downtimeSeconds == 0)
    #expect(p.intervention == .abort)
    #expect(
      p.abortReason == "pre-copy does not converge: after 3 rounds 2GiB stay dirty, a 2s pause, over the 300ms limit")
  }

  /// The same VM under Xen's caps: rounds continue while the total stays within 3·M = 12GiB:
  /// 4 + 2 + 2 + 2 + 2 = 12GiB after 5 rounds (12s); one more would pass it → abort.
  @Test("Never converges: Xen's 3×memory cap")
  func neverConvergesXen() {
    let p = PreCopyRun.predict(
      Self.parameters(memoryGiB: 4, dirtyMiBps: 2048, workingSetGiB: 2) {
        $0.stopRule = .xen
        $0.onNoConvergence = .abort
      }, bandwidth: Self.oneGiBPerSecond)
    #expect(!p.converges)
    #expect(p.rounds == 5)
    #expect(Self.close(p.totalSeconds, 12))
    #expect(Self.close(p.bytes, 12 * Self.gib))
  }

  /// Xen's round cap: with R = 2 the same VM stops after two rounds.
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
    #expect(Self.close(p.totalSeconds, 6))
  }

  /// M = 4GiB, B = 1GiB/s, D = 1GiB/s, W = 1GiB: rounds 1 and 2 each leave 1GiB dirty (stalled),
  /// so auto-converge throttles the guest to 80%: each later round leaves 0.8× what it sent:
  /// 1, 0.8, 0.64, 0.512, 0.4096, 0.32768 GiB, and 0.262144GiB ≤ 0.3s is the pause.
  @Test("Auto-converge throttles a stalled migration until it converges")
  func throttleConverges() {
    let p = PreCopyRun.predict(
      Self.parameters(memoryGiB: 4, dirtyMiBps: 1024, workingSetGiB: 1), bandwidth: Self.oneGiBPerSecond)
    let rounds = [4, 1, 1, 1, 0.8, 0.64, 0.512, 0.4096, 0.32768]
    let pause = 0.262144
    #expect(p.converges)
    #expect(p.rounds == 9)
    #expect(Self.close(p.throttle, 0.2))
    #expect(p.intervention == .throttle)
    #expect(Self.close(p.downtimeSeconds, pause))
    #expect(Self.close(p.totalSeconds, rounds.reduce(0, +) + pause))
    #expect(Self.close(p.bytes, (rounds.reduce(0, +) + pause) * Self.gib))
  }

  /// A guest that dirties nothing: one full pass, then an empty pause.
  @Test("An idle guest needs one pass")
  func idleGuest() {
    let p = PreCopyRun.predict(
      Self.parameters(memoryGiB: 2, dirtyMiBps: 0, workingSetGiB: 0), bandwidth: Self.oneGiBPerSecond)
    #expect(p.converges)
    #expect(p.rounds == 1)
    #expect(Self.close(p.totalSeconds, 2))
    #expect(p.downtimeSeconds == 0)
  }

  /// The planner's live prediction uses min(source link, destination link, policy cap).
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
    // Round 0 sends the touched half of the 8 GiB (usage.memory 0.5); the guest dirties nothing.
    #expect(Self.close(decision.predicted.seconds, 4 * Self.gib / expected))
  }

  /// Cold: configuration (1MiB) plus the 40GiB local disk at 1GiB/s = 40.0009765625s; a running
  /// VM adds 20s to shut down and 15s to boot, and is down for all of it.
  @Test("Cold prediction: bytes to copy over the share, plus shutdown and boot when running")
  func coldPrediction() {
    let disk = Disk(datastore: "src-local", size: .gib(40))
    let model = ColdMigrationModel()
    let copy = 40 + 1.0 / 1024
    let off = model.predict(
      vm: Fixture.vm("off", on: "a", state: .stopped, disks: [disk]), disksToCopy: [disk],
      bandwidth: Self.oneGiBPerSecond)
    #expect(Self.close(off.totalSeconds, copy))
    #expect(off.downtimeSeconds == 0)
    #expect(Self.close(off.bytes, 40 * Self.gib + Self.mib))
    let running = model.predict(
      vm: Fixture.vm("on", on: "a", disks: [disk]), disksToCopy: [disk], bandwidth: Self.oneGiBPerSecond)
    #expect(Self.close(running.totalSeconds, copy + 35))
    #expect(Self.close(running.downtimeSeconds, copy + 35))
  }

  @Test("Cost units: one per move, one per minute, one per 5 seconds of outage")
  func costUnits() {
    #expect(MigrationCost.units(PredictedCost(seconds: 0, downtimeMs: 0, bytes: 0, rounds: 0, converges: true)) == 1)
    #expect(MigrationCost.units(PredictedCost(seconds: 60, downtimeMs: 0, bytes: 0, rounds: 1, converges: true)) == 2)
    #expect(
      MigrationCost.units(PredictedCost(seconds: 30, downtimeMs: 30_000, bytes: 0, rounds: 0, converges: true)) == 7.5)
  }
}
