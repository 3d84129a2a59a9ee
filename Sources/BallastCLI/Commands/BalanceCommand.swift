import ArgumentParser
import BallastEngine
import BallastHistory
import BallastModel
import BallastRuntime
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
      the policy's holdFor. With --loop: SIGTERM / Ctrl-C stops new work and lets migrations in \
      flight finish (or abort safely, per the policy's onCancel), then exits 0; SIGHUP reloads \
      the policy file. Migrations left in flight by a killed process are reconciled first. \
      With --loop a simulated cluster's clock runs at real time (--pace 1) unless --pace says otherwise.
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

  @Flag(name: .long, help: "Plan and record, move nothing.")
  var dryRun = false

  @Flag(name: .long, help: "One JSON object per round on standard output.")
  var json = false

  /// `--state` and `--pace` (with --loop a simulated cluster runs at pace 1 unless told otherwise).
  @OptionGroup var simulation: SimulationOptions

  @Flag(name: .long, help: "Simulated clusters: write the new placement to the cluster file when done.")
  var save = false

  func validate() throws {
    if loop && once { throw ValidationError("--loop and --once exclude each other") }
    if let interval { _ = try FlagValue.timeSpan(interval, flag: "--interval", in: Limits.interval) }
  }

  private var intervalSeconds: Double? { interval.flatMap { TimeSpan(parsing: $0)?.seconds } }

  func run() async throws {
    MoveSignals.ignoreHangups()
    let logger = Logger(label: "ballast.balance", factory: { StreamLogHandler.standardError(label: $0) })
    let session = try await ClusterSession.open(files: files, database: database, statePath: simulation.state)
    let unresolved = try await session.reconcile(logger: logger).filter { $0.resolution == .unresolved }
    if !unresolved.isEmpty {
      throw CommandFailure(
        "\(unresolved.count) migration(s) left in flight by an earlier process could not be settled; "
          + "see `ballast history` and run `ballast balance` again once the hosts answer")
    }
    let holder = LeaseHolder.current(command: loop ? "balance --loop" : "balance")
    // With --loop a simulated cluster's clock runs at --pace (1 unless told otherwise).
    let pace = session.simulated == nil ? nil : (simulation.pace ?? (loop ? 1 : nil))
    let spacing = RoundSpacing(interval: intervalSeconds ?? session.policy.monitor.interval.seconds, pace: pace)
    let controller = BalanceController(
      driver: session.driver, clock: session.clock, journal: session.store,
      history: SQLiteLoopHistory(store: session.store, holder: holder), policy: session.policy,
      options: .init(
        cluster: session.cluster.name, dryRun: dryRun, requireHold: loop || once,
        trigger: loop || once ? .loop : .balance, interval: loop ? spacing.interval : intervalSeconds),
      hosts: session.cluster.hosts, logger: logger)
    if loop || once { try await controller.restoreHold() }
    let pacer = session.simulated.flatMap { driver in pace.map { VirtualPacer(clock: driver.clock, rate: $0) } }
    defer { pacer?.stop() }
    let print = RoundPrinter(json: json)

    if loop {
      let policyPath = files.policy
      let cluster = session.cluster
      let service = BalanceLoopService(
        controller: controller, clock: session.clock, spacing: spacing,
        reloadPolicy: policyPath.map { path in { @Sendable in try ClusterFiles.policy(at: path, for: cluster) } },
        logger: logger, onRound: { print.round($0) })
      let group = ServiceGroup(
        configuration: .init(
          services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
          logger: logger))
      // SIGTERM / SIGINT stop the loop (migrations in flight finish, or abort per onCancel); a
      // second one aborts them where it is safe.
      let signals = await StopSignals.trap { force in
        if force {
          logger.notice("stopping now: migrations in flight abort where it is safe; each rollback is recorded")
        }
        Task { await controller.stop(force: force) }
      }
      try await group.run()
      await signals.restore()
    } else {
      let signals = await StopSignals.trap { force in Task { await controller.stop(force: force) } }
      let report = try await controller.round()
      await signals.restore()
      print.round(report)
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
  var message: String

  init(_ report: RoundReport) {
    at = report.at
    imbalance = JSONOutput.rounded(report.imbalance)
    threshold = report.threshold
    excludedHosts = report.excludedHosts
    message = report.line
    decision = report.decision.name
    switch report.decision {
    case .balanced, .holding, .backingOff, .leaseHeld: break
    case .nothingToDo(let plan):
      plannedMoves = plan.moves.count
    case .planned(let plan):
      plannedMoves = plan.moves.count
      imbalanceAfterPlanned = JSONOutput.rounded(plan.after.imbalance)
    case .executed(let plan, let summary):
      plannedMoves = plan.moves.count
      imbalanceAfterPlanned = JSONOutput.rounded(plan.after.imbalance)
      done = summary.done
      failed = summary.failed
      skipped = summary.skipped
    }
  }
}
