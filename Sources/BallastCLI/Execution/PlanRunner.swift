import BallastEngine
import BallastModel
import Dispatch
import Foundation
import Logging
import Synchronization

/// Executes a plan on the cluster's driver (simulated or QEMU) and reports it as it goes,
/// journaling every stage.
///
/// Ctrl-C or SIGTERM cancels the run: no new migration starts, and those in flight finish or
/// abort safely as the policy's `onCancel` says; a second Ctrl-C or SIGTERM aborts them where it
/// is safe, whatever the policy says (see ``MoveSignals``).
struct PlanRunner {
  var policy: Policy
  /// JSON lines instead of the terminal view.
  var json: Bool
  /// Virtual seconds per wall-clock second; `nil` runs as fast as possible.
  var pace: Double?
  /// Where the engine journals (the history store; an in-memory journal only in tests).
  var journal: any MigrationJournal
  var logger = Logger(label: "ballast.engine", factory: { _ in SwiftLogNoOpLogHandler() })

  /// The output for a run: JSON lines, or the terminal view with the time of `clock`.
  static func output(json: Bool, clock: any EngineClock) -> any ProgressOutput {
    if json { return JSONLinesOutput() }
    let start = clock.uptime()
    return TerminalOutput(now: { clock.uptime() - start })
  }

  /// Runs `plan` on `driver` with its clock (`pace` applies to a virtual clock only); returns
  /// the summary and the cluster as the hypervisors hold it afterwards.
  ///
  /// `finishing` runs once the plan has ended, before the summary is printed, with the summary
  /// and the cluster afterwards: a command saves its files there, and adds its own keys to the
  /// last JSON line (`{"event":"summary",…}`).
  func run(
    _ plan: MigrationPlan, on driver: any Driver, clock: any EngineClock,
    finishing: (ExecutionSummary, Cluster, inout JSONLine) throws -> Void = { _, _, _ in }
  ) async throws -> (ExecutionSummary, Cluster) {
    let output = Self.output(json: json, clock: clock)
    let engine = MigrationEngine(
      driver: driver, journal: journal, clock: clock, policy: policy, logger: logger, observer: { output.handle($0) })
    let signals = SignalCancellation { force in engine.cancel(force: force) }
    let pacer = (clock as? VirtualClock).flatMap { virtual in pace.map { VirtualPacer(clock: virtual, rate: $0) } }
    let ticker = (output as? TerminalOutput).map { terminal in
      Task {
        while !Task.isCancelled {
          try? await Task.sleep(nanoseconds: 200_000_000)
          terminal.refresh()
        }
      }
    }
    let summary = await engine.execute(plan)
    ticker?.cancel()
    pacer?.stop()
    signals.restore()
    let final = try await driver.inventory()
    var line = JSONLinesOutput.summaryLine(for: summary)
    try finishing(summary, final, &line)
    if let lines = output as? JSONLinesOutput {
      lines.write(line)
    } else {
      output.finish(summary)
    }
    return (summary, final)
  }
}

/// Turns SIGINT and SIGTERM into a callback while it lives: the first asks for a stop
/// (`force` false), any later one forces it (`force` true).
final class SignalCancellation {
  private let sources: [any DispatchSourceSignal]

  init(_ onSignal: @escaping @Sendable (_ force: Bool) -> Void) {
    let received = Mutex(0)
    sources = [SIGINT, SIGTERM].map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        let count = received.withLock { count in
          count += 1
          return count
        }
        if count == 1 {
          printError(
            "\nstopping: no new migrations start; migrations in flight finish or abort per the policy "
              + "(again to abort them now)")
        } else {
          printError("\nstopping now: migrations in flight abort where it is safe; each rollback is recorded")
        }
        onSignal(count > 1)
      }
      source.resume()
      return source
    }
  }

  /// Gives the signals their default behaviour back.
  func restore() {
    for source in sources { source.cancel() }
    signal(SIGINT, SIG_DFL)
    signal(SIGTERM, SIG_DFL)
  }
}

/// Keeps a virtual clock from running ahead of the wall clock × `rate`, so a person can watch.
final class VirtualPacer: Sendable {
  private let task: Task<Void, Never>

  init(clock: VirtualClock, rate: Double) {
    clock.join()
    task = Task {
      let tick = 0.05
      while !Task.isCancelled {
        try? await Task.sleep(nanoseconds: UInt64(tick * 1e9))
        await clock.sleep(until: clock.elapsed + tick * rate)
      }
      clock.leave()
    }
  }

  /// Lets the clock run free again (once the pacer's current tick ends).
  func stop() { task.cancel() }
}
