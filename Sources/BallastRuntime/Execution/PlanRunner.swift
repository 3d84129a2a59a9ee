import BallastEngine
import BallastModel
import Foundation
import Logging
import UnixSignals

/// Executes a plan on the cluster's driver (simulated or real), journaling every stage, and
/// tells an observer each engine event as it happens.
///
/// SIGINT or SIGTERM cancels the run: no new migration starts, and those in flight finish or
/// abort safely as the policy's `onCancel` says; a second SIGINT or SIGTERM aborts them where it
/// is safe whatever the policy says (each rollback journaled), so the run ends promptly. The
/// signals are trapped only while the plan runs; afterwards they have their default effect again.
public struct PlanRunner: Sendable {
  public var policy: Policy
  /// Virtual seconds per wall-clock second; `nil` runs as fast as possible.
  public var pace: Double?
  /// Where the engine journals (the history store; an in-memory journal only in tests).
  public var journal: any MigrationJournal
  public var logger: Logger
  /// Called on each SIGINT or SIGTERM, just before the run is cancelled (a front end says so);
  /// `force` is true from the second one on (moves in flight then abort).
  public var onStopRequested: @Sendable (_ force: Bool) -> Void

  public init(
    policy: Policy, pace: Double? = nil, journal: any MigrationJournal,
    logger: Logger = Logger(label: "ballast.engine", factory: { _ in SwiftLogNoOpLogHandler() }),
    onStopRequested: @escaping @Sendable (_ force: Bool) -> Void = { _ in }
  ) {
    self.policy = policy
    self.pace = pace
    self.journal = journal
    self.logger = logger
    self.onStopRequested = onStopRequested
  }

  /// Runs `plan` on `driver` with its clock (`pace` applies to a virtual clock only); returns
  /// the summary and the cluster as the hypervisors hold it afterwards.
  public func run(
    _ plan: MigrationPlan, on driver: any Driver, clock: any EngineClock, observer: @escaping EngineObserver
  ) async throws -> (ExecutionSummary, Cluster) {
    let engine = MigrationEngine(
      driver: driver, journal: journal, clock: clock, policy: policy, logger: logger, observer: observer)
    let signals = await StopSignals.trap { [onStopRequested] force in
      onStopRequested(force)
      engine.cancel(force: force)
    }
    let pacer = (clock as? VirtualClock).flatMap { virtual in pace.map { VirtualPacer(clock: virtual, rate: $0) } }
    let summary = await engine.execute(plan)
    pacer?.stop()
    await signals.restore()
    return (summary, try await driver.inventory())
  }
}

/// SIGINT and SIGTERM turned into a callback while trapped (through `UnixSignals`).
public struct StopSignals: Sendable {
  private let watcher: Task<Void, Never>

  /// Traps SIGINT and SIGTERM (they no longer end the process) and calls `onSignal` for each:
  /// `force` is false for the first, true for every later one.
  public static func trap(_ onSignal: @escaping @Sendable (_ force: Bool) -> Void) async -> StopSignals {
    // Registered before it returns, so no signal sent after this call is missed.
    let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
    return StopSignals(
      watcher: Task {
        var received = 0
        for await _ in signals {
          received += 1
          onSignal(received > 1)
        }
      })
  }

  /// Stops trapping and gives both signals their default effect back.
  public func restore() async {
    watcher.cancel()
    await watcher.value
    signal(SIGINT, SIG_DFL)
    signal(SIGTERM, SIG_DFL)
  }
}

/// Keeps a virtual clock from running ahead of the wall clock × `rate`, so a person can watch.
public final class VirtualPacer: Sendable {
  private let task: Task<Void, Never>

  public init(clock: VirtualClock, rate: Double) {
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
  public func stop() { task.cancel() }
}
