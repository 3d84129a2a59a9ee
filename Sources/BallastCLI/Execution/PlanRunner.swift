import BallastEngine
import BallastModel
import Dispatch
import Foundation
import Logging

/// Executes a plan on the simulated driver and reports it as it goes.
///
/// Ctrl-C or SIGTERM cancels the run: no new migration starts, and those in flight finish or
/// abort safely as the policy's `onCancel` says.
struct PlanRunner {
  var cluster: Cluster
  var policy: Policy
  /// JSON lines instead of the terminal view.
  var json: Bool
  /// File the simulated hypervisors' state is written through to (and resumed from).
  var statePath: String?
  /// Virtual seconds per wall-clock second; `nil` runs as fast as possible.
  var pace: Double?
  var journal: any MigrationJournal = InMemoryJournal()
  var logger = Logger(label: "ballast.engine", factory: { _ in SwiftLogNoOpLogHandler() })

  /// The driver this runner uses: resumed from the state file when it holds a state.
  /// Virtual time starts at the wall clock's now, so history shows real dates.
  func makeDriver() throws -> SimulatedDriver {
    let now = Date().timeIntervalSince1970
    guard let statePath else { return try SimulatedDriver(cluster: cluster, clock: VirtualClock(origin: now)) }
    let store = FileStateStore(path: statePath)
    if let saved = try store.load() {
      return try SimulatedDriver(resumingFrom: store, origin: now - saved.elapsed)
    }
    return try SimulatedDriver(cluster: cluster, store: store, clock: VirtualClock(origin: now))
  }

  /// Runs `plan` on a driver made by ``makeDriver()``; returns the summary and the cluster
  /// afterwards (what `--save` writes).
  func execute(_ plan: MigrationPlan) async throws -> (ExecutionSummary, Cluster) {
    try await run(plan, on: makeDriver())
  }

  /// The output for a run: JSON lines, or the terminal view with the virtual time of `clock`.
  static func output(json: Bool, clock: VirtualClock) -> any ProgressOutput {
    if json { return JSONLinesOutput() }
    let start = clock.elapsed
    return TerminalOutput(now: { clock.elapsed - start })
  }

  /// Runs `plan`; returns the summary and the cluster as the hypervisors hold it afterwards.
  func run(_ plan: MigrationPlan, on driver: SimulatedDriver) async throws -> (ExecutionSummary, Cluster) {
    let output = Self.output(json: json, clock: driver.clock)
    let engine = MigrationEngine(
      simulated: driver, journal: journal, policy: policy, logger: logger, observer: { output.handle($0) })
    let signals = SignalCancellation { engine.cancel() }
    let pacer = pace.map { VirtualPacer(clock: driver.clock, rate: $0) }
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
    output.finish(summary)
    return (summary, try await driver.inventory())
  }
}

/// Turns SIGINT and SIGTERM into a callback while it lives.
final class SignalCancellation {
  private let sources: [any DispatchSourceSignal]

  init(_ onSignal: @escaping @Sendable () -> Void) {
    sources = [SIGINT, SIGTERM].map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        printError("\nstopping: no new migrations start; migrations in flight finish or abort per the policy")
        onSignal()
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
