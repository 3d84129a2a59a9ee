import BallastEngine
import BallastModel
import Logging
import ServiceLifecycle
import UnixSignals

/// `balance --loop`: a round every interval until SIGTERM or SIGINT.
///
/// The interval counts on the cluster's clock (virtual for a simulated cluster), see
/// ``RoundSpacing``; a round that takes longer than the interval is followed at once by the
/// next, never closer than ``Limits/minimumRealInterval`` in real time.
///
/// On a graceful shutdown of its service group, or when its controller is stopped (the
/// command stops it on SIGTERM / SIGINT, and forces it on a second one), no new round or
/// migration starts; migrations in flight finish or abort safely as the policy's `onCancel`
/// says (or, forced, wherever it is safe); then it returns (and the process exits 0). SIGHUP
/// reloads the policy file: a file with errors is rejected with its errors and the old
/// policy stays in force.
public struct BalanceLoopService: Service {
  let controller: BalanceController
  /// The cluster's clock: rounds are ``RoundSpacing/interval`` apart on it.
  let clock: any EngineClock
  /// How far apart rounds start.
  let spacing: RoundSpacing
  /// Reads and validates the policy file again; `nil` when there is no file to reload.
  let reloadPolicy: (@Sendable () throws -> Policy)?
  let logger: Logger
  let onRound: @Sendable (RoundReport) -> Void

  /// A loop of `controller`'s rounds, `spacing` apart on `clock` (the cluster's); `onRound` sees
  /// each report.
  public init(
    controller: BalanceController, clock: any EngineClock, spacing: RoundSpacing,
    reloadPolicy: (@Sendable () throws -> Policy)?, logger: Logger, onRound: @escaping @Sendable (RoundReport) -> Void
  ) {
    self.controller = controller
    self.clock = clock
    self.spacing = spacing
    self.reloadPolicy = reloadPolicy
    self.logger = logger
    self.onRound = onRound
  }

  public func run() async throws {
    let controller = self.controller
    await withGracefulShutdownHandler {
      await withTaskGroup(of: Void.self) { group in
        if let reloadPolicy {
          group.addTask { await reloadOnHangup(reloadPolicy) }
        }
        await runRounds()
        group.cancelAll()
      }
    } onGracefulShutdown: {
      Task { await controller.stop() }
    }
  }

  private func runRounds() async {
    if let note = spacing.note { logger.notice("\(note)") }
    while !(await controller.isStopping) {
      let started = clock.now()
      let realFloor = ContinuousClock.now + .milliseconds(Int64(Limits.minimumRealInterval.milliseconds))
      do {
        onRound(try await controller.round())
      } catch {
        logger.error("round failed, trying again next interval: \(error)")
      }
      let deadline = started + spacing.interval
      while !(await controller.isStopping) {
        let realRemaining = ContinuousClock.now < realFloor ? Self.seconds(realFloor - ContinuousClock.now) : 0
        if clock.now() >= deadline, realRemaining <= 0 { break }
        let nap = spacing.nap(deadline: deadline, clockNow: clock.now(), realRemaining: realRemaining)
        try? await Task.sleep(for: .milliseconds(Int64((nap * 1000).rounded(.up))))
      }
    }
    logger.notice("stopped: no migration in flight")
  }

  private static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
  }

  private func reloadOnHangup(_ reload: @Sendable () throws -> Policy) async {
    for await _ in await UnixSignalsSequence(trapping: .sighup) {
      do {
        let policy = try reload()
        await controller.reload(policy)
        logger.notice("SIGHUP: reloaded policy \(policy.name)")
      } catch {
        logger.error("SIGHUP: the policy file has errors, keeping the current policy:\n\(error)")
      }
    }
  }
}
