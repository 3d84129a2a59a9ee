import ArgumentParser
import BallastEngine
import BallastModel

/// `ballast migrate VM --to HOST`: one migration through the engine, on the simulated driver.
struct MigrateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "migrate",
    abstract: "Move one VM to a host, live or cold, through the migration engine.",
    discussion: """
      Without --live or --cold the kind follows DESIGN.md: a stopped VM moves cold; a running one \
      moves live when its storage is shared, the destination CPU offers its features and pre-copy \
      is predicted to converge; otherwise the policy's liveIneligible decides. The stage-0 checks \
      run again against the current state before anything moves. The cluster file is the \
      simulated cluster's state: it is rewritten (atomically) only with --save.
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

  @Flag(name: .long, help: "Write the cluster file with the VM's new place afterwards.")
  var save = false

  @Flag(name: .long, help: "One JSON event per line instead of the live view (the default when not on a terminal).")
  var json = false

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Keep the simulated hypervisors' state in this file, written after every step (resumed from it next time).",
      valueName: "file"))
  var state: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Run the virtual clock at this many seconds per real second (default: as fast as possible).",
      valueName: "x"))
  var pace: Double?

  func validate() throws {
    if live && cold { throw ValidationError("--live and --cold exclude each other") }
    if let pace, pace <= 0 { throw ValidationError("--pace must be positive") }
  }

  func run() async throws {
    let (cluster, policy) = try files.load()
    let requested: ManualMove.Requested = live ? .live : cold ? .cold : .auto
    let plan = try ManualMove.plan(vm: vm, to: to, requested: requested, cluster: cluster, policy: policy)
    let asJSON = json || !standardOutputIsTerminal
    let runner = PlanRunner(cluster: cluster, policy: policy, json: asJSON, statePath: state, pace: pace)
    let driver = try runner.makeDriver()
    guard let move = plan.moves.first else { return }

    if dryRun {
      let engine = MigrationEngine(simulated: driver, policy: policy)
      try await engine.recordDryRun(plan)
      let check = await engine.check(move)
      printDryRun(move, check: check, json: asJSON)
      if case .failure = check { throw ExitCode(1) }
      return
    }

    if !asJSON { writeLine("Migrating " + ManualMove.describe(move)) }
    let (summary, final) = try await runner.run(plan, on: driver)
    if save, final != cluster {
      try ClusterFile.save(final, to: files.cluster)
      if !asJSON { writeLine("Saved the new placement to \(files.cluster).") }
    } else if !asJSON, summary.done > 0, !save {
      writeLine("The cluster file is unchanged (add --save to write the new placement).")
    }
    if summary.needsAttention > 0 { throw ExitCode(2) }
    if summary.done < plan.moves.count { throw ExitCode(1) }
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
        line.add("check", notPossible.check)
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
