import BallastModel
import Logging
import ServiceLifecycle
import UnixSignals

/// `balance --loop`: a round every interval until SIGTERM or SIGINT.
///
/// On SIGTERM / SIGINT no new round or migration starts; migrations in flight finish or abort
/// safely as the policy's `onCancel` says; then it returns (and the process exits 0). SIGHUP
/// reloads the policy file: a file with errors is rejected with its errors and the old
/// policy stays in force.
public struct BalanceLoopService: Service {
  let controller: BalanceController
  /// Wall-clock seconds between the starts of two rounds.
  let interval: Double
  /// Reads and validates the policy file again; `nil` when there is no file to reload.
  let reloadPolicy: (@Sendable () throws -> Policy)?
  let logger: Logger
  let onRound: @Sendable (RoundReport) -> Void
  /// Told of each round's start and end (``observed(by:)``).
  var observer: (any LoopObserver)?

  /// A loop of `controller`'s rounds every `interval` seconds; `onRound` sees each report.
  public init(
    controller: BalanceController, interval: Double, reloadPolicy: (@Sendable () throws -> Policy)?, logger: Logger,
    onRound: @escaping @Sendable (RoundReport) -> Void
  ) {
    self.controller = controller
    self.interval = interval
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
    } onGracefulShutdown: { [observer] in
      observer?.loopStopping()
      Task { await controller.stop() }
    }
  }

  private func runRounds() async {
    while !(await controller.isStopping) {
      let started = ContinuousClock.now
      observer?.roundStarted()
      do {
        let report = try await controller.round()
        observer?.roundEnded(report)
        onRound(report)
      } catch {
        observer?.roundFailed(error)
        logger.error("round failed, trying again next interval: \(error)")
      }
      let deadline = started + .milliseconds(Int64(interval * 1000))
      while !(await controller.isStopping), ContinuousClock.now < deadline {
        try? await Task.sleep(for: min(.milliseconds(200), deadline - ContinuousClock.now))
      }
    }
    logger.notice("stopped: no migration in flight")
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
