import ArgumentParser
import BallastEngine
import BallastModel
import BallastPlanner
import BallastRuntime

/// `ballast drain HOST`: put a host in maintenance and move every VM off it.
struct DrainCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drain",
    abstract: "Empty a host before maintenance: put it in maintenance, then move every VM off it.",
    discussion: """
      The host is put in maintenance first (recorded in the history with who and why): no \
      command and no balancing loop places a VM on it until `ballast activate HOST`. Then every \
      VM on it is placed: running VMs live (or as the policy's liveIneligible says), stopped VMs \
      cold. The whole evacuation is checked before the first move; if some VM has nowhere to go \
      the drain is refused with every such VM and each host's reason, and nothing moves (the \
      host stays in maintenance). Moves are ordered to finish soonest within the concurrency \
      limits and run holding the cluster's lease, after reconciling what a killed process left \
      in flight. It ends with the host empty, or with the list of what is left and why. \
      Exits 0 when the host is empty, 1 when the drain is refused or VMs are left, 2 when a \
      migration needs attention. --dry-run only shows (and records) the plan.
      """)

  @Argument(help: "The host to empty.")
  var host: String

  @OptionGroup var files: ClusterOptions
  @OptionGroup var database: DatabaseOptions

  @Flag(name: .long, help: "Only show the plan; move nothing and leave the host's state alone.")
  var dryRun = false

  @Flag(
    name: .long,
    help:
      "JSON: the plan with --dry-run (keys sorted), else one JSON event per line (the default when not on a terminal)."
  )
  var json = false

  @Flag(name: .customLong("no-timing"), help: "Leave the planning time out (for golden files).")
  var noTiming = false

  @Option(name: .long, help: ArgumentHelp("Why the host is drained, for the history.", valueName: "text"))
  var reason: String?

  @Flag(name: .long, help: "Write the cluster file (host state and new placement) afterwards, atomically.")
  var save = false

  @OptionGroup var simulation: SimulationOptions

  func run() async throws {
    MoveSignals.ignoreHangups()
    let session = try await ClusterSession.open(files: files, database: database, statePath: simulation.state)
    if dryRun {
      try await showPlan(session)
      return
    }
    let asJSON = json || !standardOutputIsTerminal
    let (host, clusterPath, save) = (self.host, files.cluster, self.save)
    let why = reason ?? "ballast drain \(host)"
    let runner = PlanRunner.forCommand(policy: session.policy, pace: simulation.pace, journal: session.store)
    let report = try await session.withLease(command: "drain \(host)") {
      try await ReconcileOutput.reconcileFirst(session, json: asJSON)
      let before = try await session.inventory()
      if before.host(named: host) == nil {
        let suggestion = PlannerError.closest(to: host, in: before.hosts.map(\.name))
        throw CommandFailure("\(PlannerError.unknownHost(host, cluster: before.name, suggestion: suggestion))")
      }
      let previous = try await session.setMaintenance(true, host: host, reason: why)
      DrainReport.printMaintenance(host: host, previous: previous, json: asJSON)
      let plan = try Self.plan(host: host, cluster: try await session.inventory(), policy: session.policy)
      var report = DrainReport(host: host, plan: plan, summary: nil, left: [], saved: false)
      if plan.refusal != nil || plan.moves.isEmpty {
        let id = try await session.store.recordPlan(plan, dryRun: false, at: session.clock.now())
        try await session.store.planFinished(plan: id, measuredImbalanceAfter: nil, at: session.clock.now())
        if plan.refusal == nil, save { report.saved = try session.save(try await session.inventory(), to: clusterPath) }
        return report
      }
      if !asJSON { writeLine(DrainReport.headline(plan)) }
      _ = try await runner.run(plan, on: session.driver, clock: session.clock, json: asJSON) { summary, final, line in
        report.summary = summary
        report.left = DrainReport.left(on: host, in: final, summary: summary)
        report.saved = save ? try session.save(final, to: clusterPath) : false
        report.addFields(to: &line)
      }
      return report
    }
    report.print(json: asJSON, policy: session.policy, clusterPath: clusterPath, saveAsked: save)
    if report.summary?.needsAttention ?? 0 > 0 { throw ExitCode(2) }
    if report.plan.refusal != nil || !report.left.isEmpty { throw ExitCode(1) }
  }

  /// `--dry-run`: the plan on the cluster as it is now, recorded as a dry run.
  private func showPlan(_ session: ClusterSession) async throws {
    let cluster = try await session.inventory()
    let clock = ContinuousClock()
    var result: Result<MigrationPlan, any Error>?
    let elapsed = clock.measure {
      result = Result { try Self.plan(host: host, cluster: cluster, policy: session.policy) }
    }
    guard let result else { return }
    let plan = try result.get()
    try await session.engine().recordDryRun(plan)
    let millis = noTiming ? nil : elapsed.milliseconds
    print(
      json
        ? try PlanRenderer.json(plan, planMillis: millis)
        : PlanRenderer.text(plan, policy: session.policy, drained: host, planMillis: millis))
    if plan.refusal != nil { throw ExitCode(1) }
  }

  /// The drain plan, or a failure naming the unknown host.
  static func plan(host: String, cluster: Cluster, policy: Policy) throws -> MigrationPlan {
    do {
      return try DrainPlanner.plan(host: host, cluster: cluster, policy: policy)
    } catch {
      throw CommandFailure("\(error)")
    }
  }
}
