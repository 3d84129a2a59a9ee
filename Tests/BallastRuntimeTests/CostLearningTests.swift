import BallastEngine
import BallastModel
import BallastPlanner
import BallastTestSupport
import Testing

@testable import BallastRuntime

/// The cost model learning from the simulated driver's hidden truth: the same seed gives the
/// same truth, so these are deterministic.
@Suite("Cost model learning on the simulated driver")
struct CostLearningTests {
  /// Two hosts on a shared datastore; two VMs that move live, one whose local disk makes it
  /// move cold (shut down, copied, booted).
  static func cluster() -> Cluster {
    let hosts = ["a", "b"].map { name in
      Host(
        name: name, cores: 32, memory: .gib(256), cpuModel: "Cascadelake-Server", migrationBandwidth: .gbit(10),
        datastores: ["san", "\(name)-local"])
    }
    let vms = [
      VM(
        name: "web", host: "a", vcpus: 4, memory: .gib(8), cpuModel: "Cascadelake-Server",
        disks: [Disk(datastore: "san", size: .gib(20))], usage: Usage(cpu: 0.4, memory: 0.5),
        dirtyRate: .mbPerSecond(120), workingSet: .gib(1)),
      VM(
        name: "db", host: "b", vcpus: 8, memory: .gib(16), cpuModel: "Cascadelake-Server",
        disks: [Disk(datastore: "san", size: .gib(40))], usage: Usage(cpu: 0.6, memory: 0.7),
        dirtyRate: .mbPerSecond(300), workingSet: .gib(2)),
      VM(
        name: "cache", host: "a", vcpus: 2, memory: .gib(4), cpuModel: "Cascadelake-Server",
        disks: [Disk(datastore: "a-local", size: .gib(30), allocated: .gib(12))], usage: Usage(cpu: 0.2, memory: 0.5),
        dirtyRate: .mbPerSecond(20), workingSet: .mib(512), shutdownTime: .seconds(10), bootTime: .seconds(20)),
    ]
    return Cluster(
      name: "learning",
      datastores: [
        Datastore(name: "san", shared: true), Datastore(name: "a-local", shared: false),
        Datastore(name: "b-local", shared: false),
      ], hosts: hosts, vms: vms)
  }

  /// One migration of one VM: predicted, then measured.
  struct Outcome {
    var vm: String
    var number: Int
    var predicted: PredictedCost
    var measured: MeasuredCost

    var error: Double { abs(predicted.seconds - measured.seconds) / measured.seconds }
  }

  /// Moves every VM to the other host `rounds` times, one at a time, each planned with what
  /// the journal learned so far.
  static func migrateBackAndForth(
    rounds: Int, policy: Policy, seed: UInt64?
  ) async throws -> (
    outcomes: [Outcome], journal: InMemoryJournal
  ) {
    let driver = try SimulatedDriver(cluster: cluster())
    if let seed { try await driver.hideTruth(seed: seed) }
    let journal = InMemoryJournal()
    let engine = MigrationEngine(simulated: driver, journal: journal, policy: policy)
    var outcomes: [Outcome] = []
    for number in 1...rounds {
      for name in ["web", "db", "cache"] {
        let now = try await driver.inventory()
        let vm = try #require(now.vm(named: name))
        let model = await LearnedModel.model(for: now, policy: policy, journal: journal)
        let plan = try ManualMove.plan(
          vm: name, to: vm.host == "a" ? "b" : "a", requested: .auto, cluster: now, policy: policy, model: model)
        let summary = await engine.execute(plan)
        let result = try #require(summary.results.first)
        #expect(result.outcome == .completed, "\(name) #\(number): \(result.reason ?? "")")
        let measured = try #require(result.measured)
        outcomes.append(Outcome(vm: name, number: number, predicted: plan.moves[0].predicted, measured: measured))
      }
    }
    return (outcomes, journal)
  }

  @Test("Without a hidden truth the simulated hypervisors do what the model predicts")
  func noTruthNoError() async throws {
    let (outcomes, _) = try await Self.migrateBackAndForth(rounds: 2, policy: Policy(), seed: nil)
    for outcome in outcomes {
      #expect(outcome.error < 1e-6, "\(outcome.vm) #\(outcome.number)")
      #expect(abs(outcome.predicted.downtimeMs - outcome.measured.downtimeMs) < 1e-3)
    }
  }

  @Test("With a hidden truth the first predictions are off; from the 10th migration on within 5 %")
  func learnsTheTruth() async throws {
    let (outcomes, journal) = try await Self.migrateBackAndForth(rounds: 12, policy: Policy(), seed: 42)
    let first = outcomes.filter { $0.number == 1 }
    #expect(first.contains { $0.error > 0.1 }, "the truth differs from the file: \(first.map(\.error))")
    let late = outcomes.filter { $0.number >= 10 }
    for outcome in late {
      #expect(outcome.error <= 0.05, "\(outcome.vm) #\(outcome.number): \(outcome.error)")
    }
    // The learned figures are the truth's.
    let learned = await journal.learnedEstimates(cluster: "learning")
    let driver = try SimulatedDriver(cluster: Self.cluster())
    try await driver.hideTruth(seed: 42)
    let truth = try #require(await driver.truth)
    for name in ["web", "db"] {
      let dirty = try #require(learned.vms[name]?.dirtyRate?.value)
      let trueDirty = try #require(truth.vms[name]?.dirtyRate)
      #expect(abs(dirty - trueDirty) / trueDirty < 0.05, "\(name): learned \(dirty), truth \(trueDirty)")
      let touched = try #require(learned.vms[name]?.touchedMemory?.value)
      let trueTouched = try #require(truth.vms[name]?.touchedMemory)
      #expect(abs(touched - trueTouched) / trueTouched < 0.01)
    }
    let boot = try #require(learned.vms["cache"]?.bootSeconds?.value)
    #expect(abs(boot - (truth.vms["cache"]?.bootSeconds ?? 0)) < 0.5)
  }

  @Test("model.learn: false plans with the file's figures and learns nothing")
  func learningOff() async throws {
    var policy = Policy()
    policy.model.learn = false
    let (outcomes, journal) = try await Self.migrateBackAndForth(rounds: 3, policy: policy, seed: 42)
    let first = outcomes.filter { $0.number == 1 }.map(\.error)
    let third = outcomes.filter { $0.number == 3 }.map(\.error)
    for (a, b) in zip(first, third) { #expect(abs(a - b) < 0.02) }
    #expect(await journal.learnedEstimates(cluster: "learning").isEmpty)
    #expect(await journal.observations.count == outcomes.count)
  }
}

/// The plan's timeline against what the engine then measures on the simulated driver: moves
/// that share a link take longer than alone, and the plan says so.
@Suite("Schedule-aware predictions on the simulated driver")
struct SchedulePredictionTests {
  /// Four hosts on shared storage, eight VMs on h1 (so a drain of h1 shares h1's link).
  static func cluster() -> Cluster {
    let hosts = (1...4).map { i in
      Host(
        name: "h\(i)", cores: 64, memory: .gib(512), cpuModel: "Cascadelake-Server", migrationBandwidth: .gbit(10),
        datastores: ["san"])
    }
    let vms = (1...8).map { (i: Int) -> VM in
      let memory: Double = 4 + Double(i % 3) * 4
      let dirty: Double = 20 + Double(i) * 15
      return VM(
        name: "vm\(i)", host: "h1", vcpus: 4, memory: .gib(memory), cpuModel: "Cascadelake-Server",
        disks: [Disk(datastore: "san", size: .gib(20))], usage: Usage(cpu: 0.3, memory: 0.6),
        dirtyRate: .mbPerSecond(dirty), workingSet: .mib(512))
    }
    return Cluster(name: "schedule", datastores: [Datastore(name: "san", shared: true)], hosts: hosts, vms: vms)
  }

  static func drain(
    _ driver: SimulatedDriver, journal: InMemoryJournal, policy: Policy
  ) async throws -> (
    MigrationPlan, ExecutionSummary
  ) {
    let now = try await driver.inventory()
    let model = await LearnedModel.model(for: now, policy: policy, journal: journal)
    let plan = try DrainPlanner.plan(host: "h1", cluster: now, policy: policy, model: model)
    try await driver.setMaintenance(true, host: "h1")
    let summary = await MigrationEngine(simulated: driver, journal: journal, policy: policy).execute(plan)
    return (plan, summary)
  }

  static func check(_ plan: MigrationPlan, _ summary: ExecutionSummary, within tolerance: Double) {
    #expect(summary.done == plan.moves.count)
    let makespanError = abs(plan.predictedMakespanSeconds - summary.makespanSeconds) / summary.makespanSeconds
    #expect(makespanError <= tolerance, "makespan \(plan.predictedMakespanSeconds) vs \(summary.makespanSeconds)")
    for result in summary.results {
      guard let measured = result.measured else { continue }
      let error = abs(result.move.predicted.seconds - measured.seconds) / measured.seconds
      #expect(error <= tolerance, "\(result.move.vm): \(result.move.predicted.seconds) vs \(measured.seconds)")
      let started = result.startedAt ?? 0
      #expect(abs(started - result.move.plannedStartSeconds) <= tolerance * summary.makespanSeconds)
    }
  }

  @Test("A drain's moves share h1's link: the plan's times and makespan are what the engine measures")
  func drainMatchesExecution() async throws {
    let cluster = Self.cluster()
    let driver = try SimulatedDriver(cluster: cluster)
    let (plan, summary) = try await Self.drain(driver, journal: InMemoryJournal(), policy: Policy())
    // Sharing shows: a move beside another is predicted slower than the same move alone.
    let first = plan.moves[0]
    let vm = try #require(cluster.vm(named: first.vm))
    let destination = try #require(cluster.host(named: first.to))
    let alone = CostModel(for: cluster).predictLive(vm: vm, from: cluster.hosts[0], to: destination, policy: Policy())
    #expect(first.predicted.seconds > alone.totalSeconds * 1.2)
    Self.check(plan, summary, within: 0.05)
  }

  @Test("With a hidden truth, once learned, the drain's makespan is predicted within 5 %")
  func learnedDrainMatchesExecution() async throws {
    let cluster = Self.cluster()
    let driver = try SimulatedDriver(cluster: cluster)
    try await driver.hideTruth(seed: 9)
    let journal = InMemoryJournal()
    let policy = Policy()
    let engine = MigrationEngine(simulated: driver, journal: journal, policy: policy)
    // Each VM goes to h2 and back ten times, alone, so the model learns it.
    for _ in 1...5 {
      for i in 1...8 {
        for to in ["h2", "h1"] {
          let now = try await driver.inventory()
          let model = await LearnedModel.model(for: now, policy: policy, journal: journal)
          let plan = try ManualMove.plan(
            vm: "vm\(i)", to: to, requested: .live, cluster: now, policy: policy, model: model)
          #expect(await engine.execute(plan).done == 1)
        }
      }
    }
    let (plan, summary) = try await Self.drain(driver, journal: journal, policy: policy)
    Self.check(plan, summary, within: 0.05)
  }
}
