import BallastEngine
import BallastModel
import BallastRuntime

extension PlanRunner {
  /// A runner for a command: each SIGINT or SIGTERM says on standard error what happens next.
  static func forCommand(policy: Policy, pace: Double?, journal: any MigrationJournal) -> PlanRunner {
    PlanRunner(
      policy: policy, pace: pace, journal: journal,
      onStopRequested: { force in
        printError(
          force
            ? "\nstopping now: migrations in flight abort where it is safe; each rollback is recorded"
            : "\nstopping: no new migrations start; migrations in flight finish or abort per the policy "
              + "(again to abort them now)")
      })
  }

  /// The output for a run: JSON lines, or the terminal view with the time of `clock`.
  static func output(json: Bool, clock: any EngineClock) -> any ProgressOutput {
    if json { return JSONLinesOutput() }
    let start = clock.uptime()
    return TerminalOutput(now: { clock.uptime() - start })
  }

  /// Runs `plan` and shows it as it goes (JSON lines, or the live terminal view); returns the
  /// summary and the cluster as the hypervisors hold it afterwards.
  ///
  /// `finishing` runs once the plan has ended, before the summary is printed, with the summary
  /// and the cluster afterwards: a command saves its files there, and adds its own keys to the
  /// last JSON line (`{"event":"summary",…}`).
  func run(
    _ plan: MigrationPlan, on driver: any Driver, clock: any EngineClock, json: Bool,
    finishing: (ExecutionSummary, Cluster, inout JSONLine) throws -> Void = { _, _, _ in }
  ) async throws -> (ExecutionSummary, Cluster) {
    let output = Self.output(json: json, clock: clock)
    let ticker = (output as? TerminalOutput).map { terminal in
      Task {
        while !Task.isCancelled {
          try? await Task.sleep(nanoseconds: 200_000_000)
          terminal.refresh()
        }
      }
    }
    let result: (ExecutionSummary, Cluster)
    do {
      result = try await run(plan, on: driver, clock: clock, observer: { output.handle($0) })
      ticker?.cancel()
    } catch {
      ticker?.cancel()
      throw error
    }
    let (summary, final) = result
    var line = JSONLinesOutput.summaryLine(for: summary)
    try finishing(summary, final, &line)
    if let lines = output as? JSONLinesOutput {
      lines.write(line)
    } else {
      output.finish(summary)
    }
    return result
  }
}
