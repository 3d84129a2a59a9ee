import BallastEngine
import BallastModel
import Foundation
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
///
/// With several instances on one history (``led(by:onTakeover:)``) only the leader runs
/// rounds; the others stand by, checking every interval, and the one that takes over first
/// runs `onTakeover` (reconcile what the old leader left in flight, rebuild the hold from the
/// shared history) before its first round.
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
  var leadership: any LoopLeadership = SoleLeadership()
  var onTakeover: @Sendable () async throws -> Void = {}
  var roleObserver: (any LoopRoleObserver)?
  /// Told of each round's start and end (``observed(by:)``).
  var observer: (any LoopObserver)?

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

  /// This loop, run only while it leads the cluster by `leadership`; when it takes the lead it
  /// first runs `onTakeover`, and again at the next interval until that succeeds.
  public func led(
    by leadership: any LoopLeadership, onTakeover: @escaping @Sendable () async throws -> Void
  ) -> BalanceLoopService {
    var copy = self
    copy.leadership = leadership
    copy.onTakeover = onTakeover
    return copy
  }

  /// This loop, telling `observer` when it stands by and when it leads.
  public func reportingRole(to observer: any LoopRoleObserver) -> BalanceLoopService {
    var copy = self
    copy.roleObserver = observer
    return copy
  }

  public func run() async throws {
    let controller = self.controller
    let leadership = self.leadership
    await withGracefulShutdownHandler {
      await withTaskGroup(of: Void.self) { group in
        if let reloadPolicy {
          group.addTask { await reloadOnHangup(reloadPolicy) }
        }
        group.addTask { await keepLeading(leadership) }
        await runRounds()
        group.cancelAll()
      }
      await leadership.release()
    } onGracefulShutdown: { [observer] in
      observer?.loopStopping()
      Task { await controller.stop() }
    }
  }

  /// Renews the lead in the background, so a round longer than the lease keeps it.
  private func keepLeading(_ leadership: any LoopLeadership) async {
    while !Task.isCancelled {
      try? await Task.sleep(for: .milliseconds(Int64(leadership.renewInterval * 1000)))
      if !Task.isCancelled { await leadership.renew() }
    }
  }

  private func runRounds() async {
    if let note = spacing.note { logger.notice("\(note)") }
    var role = Role.starting
    while !(await controller.isStopping) {
      let started = clock.now()
      let realFloor = ContinuousClock.now + .milliseconds(Int64(Limits.minimumRealInterval.milliseconds))
      role = await lead(role)
      if case .leading = role {
        observer?.roundStarted()
        do {
          let report = try await controller.round()
          observer?.roundEnded(report)
          onRound(report)
        } catch {
          observer?.roundFailed(error)
          logger.error("round failed, trying again next interval: \(error)")
        }
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

  /// Where this instance stands between two checks of the lead.
  enum Role: Equatable {
    case starting
    /// Leads, and has reconciled since it took the lead.
    case leading
    /// Leads but has not reconciled yet: it runs no round until it has.
    case reconciling
    /// Another instance leads.
    case standingBy(String)
    /// The history could not say who leads.
    case unknown
  }

  /// Claims the lead and says what this instance does this interval: a leader that just took
  /// over reconciles first; a standby says so (in the log when the leader changes, to the role
  /// observer at every check).
  private func lead(_ role: Role) async -> Role {
    let claim: LeadershipClaim
    do {
      claim = try await leadership.claim()
    } catch {
      if case .leading = role, await leadership.isLeading { return .leading }
      if role != .unknown { logger.error("cannot tell who leads the cluster, not acting: \(error)") }
      return .unknown
    }
    switch claim {
    case .standingBy(let leader):
      roleObserver?.standingBy(leader: leader.holder.id)
      if role != .standingBy(leader.holder.id) {
        let until = Date(timeIntervalSince1970: leader.expiresAt).formatted(.iso8601)
        logger.notice(
          """
          standing by: \(leader.holder.id) leads the balancing of cluster \(leader.cluster) (its lease runs to \
          \(until)); this instance samples and moves nothing, and takes over if it stops renewing
          """)
      }
      return .standingBy(leader.holder.id)
    case .leading(let fresh, let previous):
      if fresh {
        roleObserver?.becameActive()
        let from = previous.map { ", taking over from \($0.id)" } ?? ""
        logger.notice("leading the balancing of this cluster\(from)")
      }
      guard fresh || role == .reconciling || role == .starting else { return .leading }
      do {
        try await onTakeover()
        return .leading
      } catch {
        logger.error("took the lead but cannot settle what was in flight yet, not balancing: \(error)")
        return .reconciling
      }
    }
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
