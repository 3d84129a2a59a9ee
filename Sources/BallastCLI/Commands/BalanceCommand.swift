import ArgumentParser
import BallastEngine
import BallastHistory
import BallastModel
import BallastRuntime
import BallastService
import Foundation
import Logging
import ServiceLifecycle

/// `ballast balance`: one balancing round, or the balancing daemon with `--loop`.
struct BalanceCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "balance",
    abstract: "Rebalance the cluster: one round, or a round every interval with --loop.",
    discussion: """
      Each round samples every host and VM, smooths the load over the policy's window, and when \
      the imbalance is above the threshold plans moves (cost-benefit, cooldowns, rules) and runs \
      them through the migration engine, recording everything in the history database. \
      A single round acts on the imbalance now; --loop and --once act only once it has lasted \
      the policy's holdFor. Every round first repairs the rules the cluster breaks (status lists \
      them); broken hard rules are repaired at once, without waiting for holdFor. With --loop: SIGTERM / Ctrl-C stops new work and lets migrations in \
      flight finish (or abort safely, per the policy's onCancel), then exits 0; SIGHUP reloads \
      the policy file. Migrations left in flight by a killed process are reconciled first. \
      With --loop a simulated cluster's clock runs at real time (--pace 1) unless --pace says otherwise. \
      Several --loop instances (on several machines, with --db postgresql://…) share the work: \
      one leads and balances, the others stand by, sampling and moving nothing, and take over \
      --lease after the leader stops renewing, reconciling what it left in flight first.
      """)

  @OptionGroup var files: ClusterOptions
  @OptionGroup var database: DatabaseOptions

  @Flag(name: .long, help: "Keep balancing: a round every --interval until SIGTERM or Ctrl-C.")
  var loop = false

  @Flag(name: .long, help: "One round that respects the hold time recorded in history (for cron).")
  var once = false

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Time between rounds with --loop, e.g. 60s (default: the policy's monitor.interval).",
      valueName: "time"))
  var interval: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "With --loop: how long the lead (and each round's migration lease) lasts without renewal, e.g. 30s; "
        + "a standby takes over this long after the leader stops.",
      valueName: "time"))
  var lease = "30s"

  @Flag(name: .long, help: "Plan and record, move nothing.")
  var dryRun = false

  @Flag(name: .long, help: "One JSON object per round on standard output.")
  var json = false

  /// `--state` and `--pace` (with --loop a simulated cluster runs at pace 1 unless told otherwise).
  @OptionGroup var simulation: SimulationOptions

  @Flag(name: .long, help: "Simulated clusters: write the new placement to the cluster file when done.")
  var save = false

  @OptionGroup var endpoint: ListenOptions

  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    if loop && once { throw ValidationError("--loop and --once exclude each other") }
    if endpoint.listen != nil && !loop { throw ValidationError("--listen serves a running loop: add --loop") }
    if let interval { _ = try FlagValue.timeSpan(interval, flag: "--interval", in: Limits.interval) }
    _ = try FlagValue.timeSpan(lease, flag: "--lease", in: Limits.lease)
  }

  private var leaseSeconds: Double { TimeSpan(parsing: lease)?.seconds ?? 30 }

  private var intervalSeconds: Double? { interval.flatMap { TimeSpan(parsing: $0)?.seconds } }

  func run() async throws {
    MoveSignals.ignoreHangups()
    let logger = logging.logger("ballast.balance")
    let session = try await ClusterSession.open(
      files: files, database: database, statePath: simulation.state, logger: logger)
    if !loop {
      // The loop reconciles when it takes the lead: a standby leaves the leader's moves alone.
      let unresolved = try await session.reconcile(logger: logger).filter { $0.resolution == .unresolved }
      if !unresolved.isEmpty {
        throw CommandFailure(
          "\(unresolved.count) migration(s) left in flight by an earlier process could not be settled; "
            + "see `ballast history` and run `ballast balance` again once the hosts answer")
      }
    }
    let holder = LeaseHolder.current(command: loop ? "balance --loop" : "balance")
    // With --loop a simulated cluster's clock runs at --pace (1 unless told otherwise).
    let pace = session.simulated == nil ? nil : (simulation.pace ?? (loop ? 1 : nil))
    let spacing = RoundSpacing(interval: intervalSeconds ?? session.policy.monitor.interval.seconds, pace: pace)
    // With --listen, the endpoint's telemetry follows the rounds and the engine's events.
    let address = try endpoint.address
    let served = address.map { _ in
      LoopEndpoint(cluster: session.cluster.name, interval: spacing.realInterval)
    }
    let telemetry = served?.telemetry
    let engineObserver: EngineObserver = { event in telemetry?.engineEvent(event) }
    let controller = BalanceController(
      driver: session.driver, clock: session.clock, journal: session.store,
      history: StoreLoopHistory(store: session.store, holder: holder, leaseDuration: loop ? leaseSeconds : 60),
      policy: session.policy,
      options: .init(
        cluster: session.cluster.name, dryRun: dryRun, requireHold: loop || once,
        trigger: loop || once ? .loop : .balance, interval: loop ? spacing.interval : intervalSeconds),
      hosts: session.cluster.hosts, logger: logger, observer: engineObserver)
    // The loop rebuilds its hold when it takes the lead (it may stand by first).
    if once { try await controller.restoreHold() }
    let pacer = session.simulated.flatMap { driver in pace.map { VirtualPacer(clock: driver.clock, rate: $0) } }
    defer { pacer?.stop() }
    let print = RoundPrinter(json: json)

    if loop {
      let policyPath = files.policy
      let cluster = session.cluster
      let leaseSeconds = self.leaseSeconds
      let leadership = StoreLeadership(
        store: session.store, cluster: cluster.name, holder: holder, duration: leaseSeconds)
      let service = BalanceLoopService(
        controller: controller, clock: session.clock, spacing: spacing,
        reloadPolicy: policyPath.map { path in { @Sendable in try ClusterFiles.policy(at: path, for: cluster) } },
        logger: logger, onRound: { print.round($0) }
      ).led(by: leadership) {
        // What the previous leader left in flight first (its migration lease expires within
        // --lease), then the cooldowns and hold state from the shared history.
        _ = try await session.reconcileTakingOver(logger: logger, leaseDuration: leaseSeconds, wait: leaseSeconds + 5)
        try await controller.takeOver()
      }
      let notifier = SystemdNotifier()
      var observers: [any LoopObserver] = [notifier]
      // Standing by or leading: systemd's status line, and the endpoint's /readyz and metrics.
      var roles: [any LoopRoleObserver] = [notifier]
      var server: StatusServer?
      if let address, let served {
        observers.append(served.telemetry)
        roles.append(served.telemetry)
        server = served.server(
          address: address, store: session.store, holder: holder, policy: { await controller.policy }, logger: logger)
      }
      let group = LoopEndpoint.serviceGroup(
        loop: service.observed(by: LoopObservers(observers)).reportingRole(to: LoopRoleObservers(roles)),
        server: server, logger: logger)
      // SIGTERM / SIGINT stop the loop (migrations in flight finish, or abort per onCancel); a
      // second one aborts them where it is safe. The endpoint stops once the loop has.
      let signals = await StopSignals.trap { force in
        if force {
          logger.notice("stopping now: migrations in flight abort where it is safe; each rollback is recorded")
          Task { await controller.stop(force: true) }
        } else {
          // The group's graceful shutdown tells the observers (systemd hears STOPPING=1) and
          // stops the controller; the server goes once the loop is done.
          Task { await group.triggerGracefulShutdown() }
        }
      }
      try await group.run()
      await signals.restore()
    } else {
      let signals = await StopSignals.trap { force in Task { await controller.stop(force: force) } }
      let report = try await controller.round()
      await signals.restore()
      print.round(report)
      // Another process moves VMs on the cluster: busy, not failed (cron can tell them apart).
      if case .leaseHeld = report.decision { throw ExitCode(ExitStatus.busy) }
    }
    if save, let simulated = session.simulated {
      let final = try await simulated.inventory()
      if final != session.cluster { try ClusterFile.save(final, to: files.cluster) }
    }
  }
}

/// Prints round reports: a line each, or a JSON object each.
struct RoundPrinter: Sendable {
  var json: Bool

  func round(_ report: RoundReport) {
    if json {
      writeLine((try? JSONOutput.string(RoundJSON(report), pretty: false)) ?? "{}")
    } else {
      writeLine(report.line)
    }
  }
}

/// A round as one JSON object.
struct RoundJSON: Encodable {
  var event = "round"
  var at: Double
  var imbalance: Double
  var threshold: Double
  var decision: String
  var excludedHosts: [String]
  var plannedMoves: Int?
  var done: Int?
  var failed: Int?
  var skipped: Int?
  var imbalanceAfterPlanned: Double?
  /// Rules the cluster breaks this round: all, and the hard ones.
  var violations: Int
  var hardViolations: Int
  /// Moves of the round's plan that repair broken rules (`null` when it planned nothing).
  var repairMoves: Int?
  /// What held balancing back in a round that only repaired (`holding`, `backingOff`), else `null`.
  var heldBack: String?
  var message: String

  init(_ report: RoundReport) {
    at = report.at
    imbalance = JSONOutput.rounded(report.imbalance)
    threshold = report.threshold
    excludedHosts = report.excludedHosts
    message = report.line
    decision = report.decision.name
    violations = report.violations.count
    hardViolations = report.violations.filter(\.hard).count
    heldBack = report.heldBack?.name
    switch report.decision {
    case .balanced, .holding, .backingOff, .leaseHeld: break
    case .nothingToDo(let plan):
      plannedMoves = plan.moves.count
      repairMoves = 0
    case .planned(let plan):
      repairMoves = plan.repairMoves.count
      plannedMoves = plan.moves.count
      imbalanceAfterPlanned = JSONOutput.rounded(plan.after.imbalance)
    case .executed(let plan, let summary):
      repairMoves = plan.repairMoves.count
      plannedMoves = plan.moves.count
      imbalanceAfterPlanned = JSONOutput.rounded(plan.after.imbalance)
      done = summary.done
      failed = summary.failed
      skipped = summary.skipped
    }
  }
}
