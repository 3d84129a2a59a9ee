import BallastEngine
import BallastHistory
import BallastModel
import BallastPlanner
import Logging

/// One balancing round after another: sample, smooth, check the hold time, plan, execute, record.
///
/// The same controller runs `balance` (one round), `balance --loop` (a ``BalanceLoopService``)
/// and `simulate` (rounds on a virtual clock), so a replay shows what the daemon would do.
/// Anti-flap: smoothed load, the hold time, per-VM cooldowns read from history (so a restart
/// keeps them), and a back-off when VMs move under the loop. Each round records a sample per
/// host and deletes those older than the policy's `monitor.sampleRetention`. Hosts the driver
/// did not report (or whose samples are older than the policy's `staleAfter`) are neither
/// sources nor destinations.
public actor BalanceController {
  /// What kind of round this controller runs.
  public struct Options: Sendable {
    public var cluster: String
    /// Plan and record, but move nothing.
    public var dryRun = false
    /// Act only when the imbalance has stayed above the threshold for `holdFor` (the loop and
    /// `--once`); a single manual `balance` acts on the imbalance now.
    public var requireHold = true
    /// The plan's trigger in history.
    public var trigger: PlanTrigger = .loop
    /// Seconds between rounds when not the policy's `monitor.interval` (`--interval`, a replay's step).
    public var interval: Double?

    public init(
      cluster: String, dryRun: Bool = false, requireHold: Bool = true, trigger: PlanTrigger = .loop,
      interval: Double? = nil
    ) {
      self.cluster = cluster
      self.dryRun = dryRun
      self.requireHold = requireHold
      self.trigger = trigger
      self.interval = interval
    }
  }

  let driver: any Driver
  let clock: any EngineClock
  let journal: any MigrationJournal
  let history: any LoopHistory
  let options: Options
  let logger: Logger
  let observer: EngineObserver
  public private(set) var policy: Policy
  private var monitor: LoadMonitor
  private var hold: HoldTracker
  private var knownHosts: [Host] = []
  private var expectedPlacement: [String: String]?
  private var backoffUntil: Double?
  private var engine: MigrationEngine?
  private var stopping = false

  /// `hosts` are the hosts the cluster should have (its file): one the driver does not
  /// report is left out of planning from the first round on.
  public init(
    driver: any Driver, clock: any EngineClock, journal: any MigrationJournal, history: any LoopHistory,
    policy: Policy, options: Options, hosts: [Host], logger: Logger, observer: @escaping EngineObserver = { _ in }
  ) {
    self.driver = driver
    self.clock = clock
    self.journal = journal
    self.history = history
    self.policy = policy
    self.options = options
    self.logger = logger
    self.observer = observer
    self.monitor = LoadMonitor(settings: policy.monitor)
    self.hold = HoldTracker(threshold: policy.threshold, maxGap: policy.holdGap(interval: options.interval))
    self.knownHosts = hosts
  }

  /// Rebuilds the hold time from recorded host samples, so a restart does not reset it.
  public func restoreHold() async throws {
    let now = clock.now()
    let since = now - policy.minimumSampleRetention(interval: options.interval).seconds
    let samples = try await history.samples(cluster: options.cluster, since: since)
    let weights = policy.weights.normalized
    for (at, group) in Dictionary(grouping: samples, by: \.at).sorted(by: { $0.key < $1.key }) {
      let values = group.map { weights.cpu * $0.cpu + weights.memory * $0.memory }
      hold.observe(at: at, imbalance: Imbalance.standardDeviation(values))
    }
  }

  /// Takes a new policy (SIGHUP); the next round uses it.
  public func reload(_ newPolicy: Policy) {
    policy = newPolicy
    monitor.settings = newPolicy.monitor
    hold.threshold = newPolicy.threshold
    hold.maxGap = newPolicy.holdGap(interval: options.interval)
  }

  /// No new round or migration starts; migrations in flight finish or abort per the policy.
  /// With `force` they abort where it is safe, whatever the policy says (a second signal).
  public func stop(force: Bool = false) {
    stopping = true
    engine?.cancel(force: force)
  }

  public var isStopping: Bool { stopping }

  /// Runs one round and logs its decision.
  public func round() async throws -> RoundReport {
    let report = try await decide()
    logger.info(
      "\(report.line)",
      metadata: ["cluster": "\(options.cluster)", "decision": "\(report.decision.name)"])
    return report
  }

  private func decide() async throws -> RoundReport {
    let now = clock.now()
    let inventory = try await driver.inventory()
    let moved = movedOutside(inventory)
    for move in moved { await history.noteMove(vm: move.vm, from: move.from, at: now) }
    expectedPlacement = Dictionary(inventory.vms.map { ($0.name, $0.host) }, uniquingKeysWith: { a, _ in a })

    remember(inventory.hosts)
    monitor.record(inventory, at: now)
    let visible = Set(inventory.hosts.map(\.name))
    var view = monitor.smoothedCluster(inventory)
    view.hosts = knownHosts
    let excluded = Set(monitor.staleHosts(in: view, now: now)).union(
      knownHosts.map(\.name).filter { !visible.contains($0) })
    for i in view.hosts.indices where excluded.contains(view.hosts[i].name) { view.hosts[i].state = .maintenance }
    let imbalance = Imbalance.of(view, weights: policy.weights)
    var measured = inventory
    measured.hosts = view.hosts
    // The hold needs the load both as measured now and as smoothed over the window to stay
    // above the threshold: a lone spike is high only in the first, its echo only in the second.
    let measuredImbalance = Imbalance.of(measured, weights: policy.weights)
    try await history.record(samples: samples(inventory, at: now))
    // Samples older than the retention go (never sooner than rebuilding the hold needs them).
    let retention = policy.sampleRetention(interval: options.interval)
    try await history.pruneSamples(cluster: options.cluster, before: now - retention.seconds)
    hold.observe(at: now, imbalance: min(imbalance, measuredImbalance))

    var report = RoundReport(
      at: now, imbalance: imbalance, threshold: policy.threshold, excludedHosts: excluded.sorted(), decision: .balanced)
    if !moved.isEmpty {
      backoffUntil = now + policy.holdFor.seconds
      hold.reset()
      report.decision = .backingOff(until: now + policy.holdFor.seconds, moved: moved.map(\.vm))
      return report
    }
    if let until = backoffUntil, now < until {
      report.decision = .backingOff(until: until, moved: [])
      return report
    }
    guard imbalance > policy.threshold else { return report }
    if options.requireHold, measuredImbalance <= policy.threshold || hold.heldFor(now: now) < policy.holdFor.seconds {
      report.decision = .holding(remaining: policy.holdFor.seconds - hold.heldFor(now: now))
      return report
    }
    report.decision = try await planAndRun(view, excluded: excluded, now: now)
    return report
  }

  private func planAndRun(_ view: Cluster, excluded: Set<String>, now: Double) async throws -> RoundDecision {
    let lastMoves = try await history.lastMoves(cluster: options.cluster)
    var plan = try BalancePlanner.plan(
      cluster: view, policy: policy, history: MoveHistory(lastMove: lastMoves, now: now))
    plan.trigger = options.trigger
    if !excluded.isEmpty {
      plan.notes.append("left out, not seen recently: \(excluded.sorted().joined(separator: ", "))")
    }
    guard plan.refusal == nil, !plan.moves.isEmpty else { return .nothingToDo(plan) }
    let engine = MigrationEngine(
      driver: driver, journal: journal, clock: clock, policy: policy, logger: logger, observer: observer)
    if options.dryRun {
      try await engine.recordDryRun(plan)
      return .planned(plan)
    }
    guard !stopping else { return .nothingToDo(plan) }
    let toRun = plan
    self.engine = engine
    defer { self.engine = nil }
    let summary: ExecutionSummary
    do {
      summary = try await history.withLease(cluster: options.cluster) { await engine.execute(toRun) }
    } catch let error as LeaseError {
      return .leaseHeld("\(error)")
    }
    let end = clock.now()
    for result in summary.results where result.outcome == .completed {
      await history.noteMove(vm: result.move.vm, from: result.move.from, at: end)
      expectedPlacement?[result.move.vm] = result.move.to
    }
    hold.reset()
    return .executed(plan, summary)
  }

  /// VMs whose host changed since the last round without the loop moving them.
  private func movedOutside(_ inventory: Cluster) -> [(vm: String, from: String)] {
    guard let expected = expectedPlacement else { return [] }
    return inventory.vms.compactMap { vm in
      guard let was = expected[vm.name], was != vm.host else { return nil }
      return (vm.name, was)
    }
  }

  /// Keeps every host ever seen, in first-seen order, updated with what was seen now.
  private func remember(_ hosts: [Host]) {
    var position = Dictionary(knownHosts.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    for host in hosts {
      if let i = position[host.name] {
        knownHosts[i] = host
      } else {
        position[host.name] = knownHosts.count
        knownHosts.append(host)
      }
    }
  }

  private func samples(_ inventory: Cluster, at now: Double) -> [HostSample] {
    zip(inventory.hosts, inventory.utilizations()).compactMap { host, u in
      host.state == .active
        ? HostSample(cluster: options.cluster, host: host.name, at: now, cpu: u.cpu, memory: u.memory) : nil
    }
  }
}
