import ArgumentParser
import BallastEngine
import BallastHistory
import BallastModel
import BallastPlanner
import BallastRuntime

/// `ballast plan`: what a balance round would move, why, and what it would cost; with
/// `--execute`, the moves run.
struct PlanCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Show the moves a balance round would make, why, and what they would cost; --execute runs them.",
    discussion: """
      Each move shows the VM, from → to, live or cold, the reason, the score breakdown and the \
      predicted time and downtime; then each host's utilization before → after, the imbalance \
      before → after, and the destinations that were considered and rejected, with why. \
      --explain VM shows every host's verdict for one VM instead. Without --execute nothing is \
      recorded or moved. With --execute the plan is made again on the cluster as it is now \
      (cooldowns from the history apply), holding the cluster's lease, after reconciling what a \
      killed process left in flight, and its moves run through the migration engine, journaled \
      in the history database. Exits 1 when a move failed, 2 when one needs attention.
      """)

  @OptionGroup var files: ClusterOptions

  @Flag(
    name: .long,
    help: "Print the plan as JSON (keys sorted: the same input gives the same bytes); with --execute, JSON lines.")
  var json = false

  @Option(name: .long, help: ArgumentHelp("Show every host's verdict or score for this VM.", valueName: "vm"))
  var explain: String?

  @Flag(name: .customLong("no-timing"), help: "Leave the planning time out (for golden files).")
  var noTiming = false

  @Flag(name: .long, help: "Run the plan's moves, journaled in the history database.")
  var execute = false

  @OptionGroup var database: DatabaseOptions

  @OptionGroup var simulation: SimulationOptions

  @Flag(name: .long, help: "With --execute: write the new placement to the cluster file afterwards, atomically.")
  var save = false

  func validate() throws {
    if execute, explain != nil { throw ValidationError("--explain shows a plan; it cannot be combined with --execute") }
    if !execute, simulation.state != nil || simulation.pace != nil || save {
      throw ValidationError("--state, --pace and --save go with --execute")
    }
  }

  func run() async throws {
    if execute {
      MoveSignals.ignoreHangups()
      try await runPlan()
      return
    }
    let (fileCluster, policy) = try files.load()
    // Plan on a real backend as it is now: placement and measured load.
    let cluster = try await DriverFactory.currentCluster(
      fileCluster, clusterFile: files.cluster, policyFile: files.policy)
    if let vm = explain {
      let explanation = try PlacementExplainer.explain(vm: vm, cluster: cluster, policy: policy)
      print(json ? try ExplainRenderer.json(explanation) : ExplainRenderer.text(explanation))
      return
    }
    let clock = ContinuousClock()
    var plan: MigrationPlan?
    let elapsed = try clock.measure { plan = try BalancePlanner.plan(cluster: cluster, policy: policy) }
    guard let plan else { return }
    let millis = noTiming ? nil : elapsed.milliseconds
    print(
      json
        ? try PlanRenderer.json(plan, planMillis: millis) : PlanRenderer.text(plan, policy: policy, planMillis: millis))
  }

  /// `--execute`: plan on the cluster as it is, then run the moves.
  private func runPlan() async throws {
    let session = try await ClusterSession.open(files: files, database: database, statePath: simulation.state)
    let asJSON = json || !standardOutputIsTerminal
    let (clusterPath, save) = (files.cluster, self.save)
    let runner = PlanRunner.forCommand(policy: session.policy, pace: simulation.pace, journal: session.store)
    let history = SQLiteLoopHistory(store: session.store, holder: LeaseHolder.current(command: "plan --execute"))
    let summary: ExecutionSummary? = try await session.withLease(command: "plan --execute") {
      try await ReconcileOutput.reconcileFirst(session, json: asJSON)
      let cluster = try await session.inventory()
      let moved = MoveHistory(
        lastMove: try await history.lastMoves(cluster: cluster.name), now: session.clock.now())
      let plan = try BalancePlanner.plan(cluster: cluster, policy: session.policy, history: moved)
      Self.announce(plan, policy: session.policy, json: asJSON)
      guard plan.refusal == nil, !plan.moves.isEmpty else {
        let id = try await session.store.recordPlan(plan, dryRun: false, at: session.clock.now())
        try await session.store.planFinished(plan: id, measuredImbalanceAfter: nil, at: session.clock.now())
        return nil
      }
      var saved = false
      let (summary, _) = try await runner.run(plan, on: session.driver, clock: session.clock, json: asJSON) {
        _, final, line in
        saved = save ? try session.save(final, to: clusterPath) : false
        line.add("saved", saved)
      }
      if !asJSON, saved { writeLine("Saved the new placement to \(clusterPath).") }
      return summary
    }
    guard let summary else { return }
    if summary.needsAttention > 0 { throw ExitCode(2) }
    if summary.failed > 0 { throw ExitCode(1) }
  }

  /// Shows the plan about to run: the text view, or one `{"event":"plan",…}` line.
  private static func announce(_ plan: MigrationPlan, policy: Policy, json: Bool) {
    if json {
      var line = JSONLine(event: "plan")
      line.add("cluster", plan.cluster)
      line.add("policy", plan.policy)
      line.add("moves", plan.moves.count)
      line.add("imbalanceBefore", plan.before.imbalance, decimals: 4)
      line.add("imbalanceAfter", plan.after.imbalance, decimals: 4)
      line.add("refusal", plan.refusal)
      writeLine(line.text)
    } else {
      writeLine(PlanRenderer.text(plan, policy: policy, planMillis: nil))
      if plan.refusal == nil, !plan.moves.isEmpty { writeLine("") }
    }
  }
}
