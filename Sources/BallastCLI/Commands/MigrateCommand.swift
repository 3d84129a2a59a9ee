import ArgumentParser
import BallastEngine
import BallastModel
import BallastRuntime

/// `ballast migrate VM --to HOST`: one migration through the engine, on the cluster's driver.
struct MigrateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "migrate",
    abstract: "Move one VM to a host, live or cold, through the migration engine.",
    discussion: """
      Without --live or --cold the kind follows docs/ARCHITECTURE.md: a stopped VM moves cold; a running one \
      moves live when its storage is shared, the destination CPU offers its features and pre-copy \
      is predicted to converge; otherwise the policy's liveIneligible decides. The stage-0 checks \
      run again against the current state before anything moves. The cluster file is the \
      simulated cluster's state: it is rewritten (atomically) only with --save. The migration \
      runs holding the cluster's lease (another Ballast process migrating on it makes this one \
      stop at once, saying who), after reconciling what a killed process left in flight, and \
      every stage is recorded in the history database (dry runs too, marked as such).
      """)

  @Argument(help: "The VM to move.")
  var vm: String

  @Option(name: .long, help: ArgumentHelp("Destination host.", valueName: "host"))
  var to: String

  @Flag(name: .long, help: "Move it live (fail if it cannot).")
  var live = false

  @Flag(name: .long, help: "Move it cold (a running VM is shut down, moved and started again).")
  var cold = false

  @Flag(name: .long, help: "Show how it would move, what it would cost and whether the checks pass; move nothing.")
  var dryRun = false

  @OptionGroup var files: ClusterOptions
  @OptionGroup var database: DatabaseOptions

  @Flag(name: .long, help: "Write the cluster file with the VM's new place afterwards.")
  var save = false

  @Flag(name: .long, help: "One JSON event per line instead of the live view (the default when not on a terminal).")
  var json = false

  @OptionGroup var simulation: SimulationOptions

  func validate() throws {
    if live && cold { throw ValidationError("--live and --cold exclude each other") }
  }

  func run() async throws {
    MoveSignals.ignoreHangups()
    let session = try await ClusterSession.open(files: files, database: database, statePath: simulation.state)
    let requested: ManualMove.Requested = live ? .live : cold ? .cold : .auto
    let asJSON = json || !standardOutputIsTerminal
    let (vm, to, clusterPath, save) = (self.vm, self.to, files.cluster, self.save)

    if dryRun {
      let plan = try ManualMove.plan(
        vm: vm, to: to, requested: requested, cluster: try await session.inventory(), policy: session.policy)
      guard let move = plan.moves.first else { return }
      let engine = session.engine()
      try await engine.recordDryRun(plan)
      let check = await engine.check(move)
      printDryRun(move, check: check, json: asJSON)
      if case .failure = check { throw ExitCode(1) }
      return
    }

    let runner = PlanRunner.forCommand(policy: session.policy, pace: simulation.pace, journal: session.store)
    let (summary, planned, saved) = try await session.withLease(command: "migrate \(vm) --to \(to)") {
      try await ReconcileOutput.reconcileFirst(session, json: asJSON)
      let plan = try ManualMove.plan(
        vm: vm, to: to, requested: requested, cluster: try await session.inventory(), policy: session.policy)
      if !asJSON, let move = plan.moves.first { writeLine("Migrating " + ManualMove.describe(move)) }
      var saved = false
      let (summary, _) = try await runner.run(plan, on: session.driver, clock: session.clock, json: asJSON) {
        _, final, _ in
        saved = save ? try session.save(final, to: clusterPath) : false
      }
      return (summary, plan.moves.count, saved)
    }
    if !asJSON {
      if saved {
        writeLine("Saved the new placement to \(clusterPath).")
      } else if summary.done > 0, !save {
        writeLine("The cluster file is unchanged (add --save to write the new placement).")
      }
    }
    if summary.needsAttention > 0 { throw ExitCode(2) }
    if summary.done < planned { throw ExitCode(1) }
  }

  private func printDryRun(_ move: PlannedMove, check: Result<PreflightResult, NotPossible>, json: Bool) {
    if json {
      var line = JSONLine(event: "dryRun")
      line.add("vm", move.vm)
      line.add("kind", move.kind.rawValue)
      line.add("from", move.from)
      line.add("to", move.to)
      line.add("requiresShutdown", move.requiresShutdown)
      line.add("predictedSeconds", move.predicted.seconds, decimals: 3)
      line.add("predictedDowntimeMs", move.predicted.downtimeMs, decimals: 3)
      line.add("predictedBytes", move.predicted.bytes, decimals: 0)
      line.add("predictedRounds", move.predicted.rounds)
      line.add("reason", move.reason)
      switch check {
      case .success: line.add("possible", true)
      case .failure(let notPossible):
        line.add("possible", false)
        line.add("check", notPossible.check.name)
        line.add("why", notPossible.reason)
      }
      writeLine(line.text)
      return
    }
    writeLine("Dry run: would move " + ManualMove.describe(move))
    writeLine("  why: \(move.reason)")
    switch check {
    case .success: writeLine("  checks against the current state: pass")
    case .failure(let notPossible): writeLine("  not possible now — \(notPossible.check): \(notPossible.reason)")
    }
  }
}
