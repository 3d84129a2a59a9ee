import BallastModel
import Logging

/// Finishes or rolls back the moves a previous Ballast process left in flight (it was killed,
/// or its host rebooted), so that each VM ends on exactly one host and the history says how.
///
/// For each of the journal's ``MigrationJournal/unfinishedMoves(cluster:)`` of its cluster (its
/// driver's: moves of other clusters in the same journal are left alone) it asks the driver where
/// the VM really is (``Driver/locate(vm:)``) and, guided by the last stage the journal reached:
/// - **before commitment**: makes sure the VM runs (or stays off) on its source only, removes
///   what was created on the destination, and records `rolledBack`;
/// - **past commitment** (or commitment begun and the source already gone): completes
///   activation on the destination (cold: removes the source, starts the VM if it was running),
///   and records `completed`;
/// - **during commitment**, live, with the source still paused: asks the destination to commit
///   again; if it confirms, completes as above, else rolls back (the paused source is intact);
/// - for a driver whose switchover is ``SwitchoverStyle/atomic`` (the engine journals
///   commitment's intent before the one call that does stages 2–4): "source gone, destination
///   paused" is committed (it activates); "source running" is not (it removes what is left on the
///   destination); "source paused, destination incoming or paused" means the backend's job may
///   still run, so it asks the driver to abort it and resume the source
///   (``Driver/resumeOnSource(_:)``) — it never calls ``Driver/commit(_:)`` — and leaves the move
///   unresolved if that fails;
/// - when what it finds contradicts the journal (running on two hosts, on none, on a third
///   host, on the destination before commitment…): touches nothing and records
///   `needsAttention` with the exact situation.
///
/// It writes like the engine: a stage's intent before a driver call that gives something up,
/// the outcome after it, then ``MigrationJournal/moveFinished(move:outcome:measured:at:detail:)``.
/// So a crash during `reconcile` is itself reconciled by the next run. Before recording a move as
/// ended it asks the driver again where the VM is, and records it only if the VM is where it
/// should be. A driver failure, or a VM not where the driver said it put it, leaves the move
/// unfinished (``ReconcileResult/Resolution/unresolved``) for the next run.
///
/// Driver calls may repeat work a killed process had partly done, so drivers must accept them
/// idempotently: `release`, `resumeOnSource`, `commit`, `activate`, `removeSource` and
/// `discardDestination` succeed when there is nothing (left) to do or it was already done. The reservation token of
/// the dead process is not journaled: the reconciler passes a ``Reservation`` with an empty
/// token, and drivers find the container from the request's VM and hosts.
public struct Reconciler: Sendable {
  let journal: any MigrationJournal
  let driver: any Driver
  /// The cluster `driver` runs; `nil` reconciles the moves of every cluster in the journal.
  let cluster: String?
  let now: @Sendable () -> Double
  let logger: Logger

  /// - Parameters:
  ///   - cluster: the cluster `driver` runs: only its moves are reconciled (`nil`: every
  ///     cluster's, for a journal that holds one cluster only).
  ///   - now: seconds since the Unix epoch, for the journal's times (the engine's clock).
  public init(
    journal: any MigrationJournal, driver: any Driver, cluster: String?, now: @escaping @Sendable () -> Double,
    logger: Logger
  ) {
    self.journal = journal
    self.driver = driver
    self.cluster = cluster
    self.now = now
    self.logger = logger
  }

  /// Reconciles every unfinished move of the cluster, oldest first. Throws only when the journal
  /// cannot be read.
  public func run() async throws -> [ReconcileResult] {
    var results: [ReconcileResult] = []
    for move in try await journal.unfinishedMoves(cluster: cluster) {
      results.append(await reconcile(move))
    }
    return results
  }

  /// Reconciles one unfinished move.
  public func reconcile(_ unfinished: UnfinishedMove) async -> ReconcileResult {
    await reconcile(unfinished, lookedAgain: false)
  }

  /// `lookedAgain`: a rollback of an atomic switchover failed once and the VM was located again.
  /// An atomic backend may finish the switchover on its own while the rollback tries to abort it
  /// (libvirt's peer-to-peer migration outlives the process that started it); then the move is
  /// completed instead, from where the VM is now.
  private func reconcile(_ unfinished: UnfinishedMove, lookedAgain: Bool) async -> ReconcileResult {
    let move = unfinished.move
    func result(_ resolution: ReconcileResult.Resolution, _ detail: String) -> ReconcileResult {
      var metadata: Logger.Metadata = [
        "vm": "\(move.vm)", "move": "\(unfinished.id)", "from": "\(move.from)", "to": "\(move.to)",
      ]
      switch resolution {
      case .finished(let outcome):
        metadata["outcome"] = "\(outcome.rawValue)"
        logger.log(level: outcome == .needsAttention ? .error : .notice, "reconciled: \(detail)", metadata: metadata)
      case .unresolved:
        logger.error("could not reconcile: \(detail)", metadata: metadata)
      }
      return ReconcileResult(
        move: unfinished.id, vm: move.vm, from: move.from, to: move.to, kind: move.kind, resolution: resolution,
        detail: detail)
    }

    let placements: [VMPlacement]
    do {
      placements = try await driver.locateSettled(vm: move.vm)
    } catch {
      return result(
        .unresolved,
        "cannot find where VM \(move.vm) is (\(error)); nothing was changed — run reconcile again once the "
          + "hosts \(move.from) and \(move.to) answer")
    }
    let situation = Situation(unfinished, placements, switchover: driver.switchover)
    let decision = situation.decide()
    do {
      switch decision {
      case .rollBack(let steps, let detail):
        try await rollBack(unfinished, steps: steps, detail: detail)
        return result(.finished(.rolledBack), detail)
      case .complete(let steps, let detail):
        try await complete(unfinished, steps: steps, detail: detail)
        return result(.finished(.completed), detail)
      case .recommit(let then, let detail, let orElse, let rollbackDetail):
        let reservation = Self.recoveredReservation(move)
        do {
          try await driver.commit(reservation)
        } catch {
          let detail = rollbackDetail + " (\(error))"
          try await rollBack(unfinished, steps: orElse, detail: detail, lastStageError: "\(error)")
          return result(.finished(.rolledBack), detail)
        }
        try await complete(unfinished, steps: [.confirm(.commitment)] + then, detail: detail)
        return result(.finished(.completed), detail)
      case .needsAttention(let detail):
        try await journal.moveFinished(
          move: unfinished.id, outcome: .needsAttention, measured: nil, at: now(), detail: detail)
        return result(.finished(.needsAttention), detail)
      }
    } catch {
      if case .rollBack = decision, driver.switchover == .atomic, !lookedAgain {
        logger.notice(
          "rolling back did not finish (\(error)); looking where the VM is now",
          metadata: ["vm": "\(move.vm)", "move": "\(unfinished.id)"])
        return await reconcile(unfinished, lookedAgain: true)
      }
      return result(
        .unresolved, "\(decision.summary) did not finish: \(error) — the move stays unfinished; run reconcile again")
    }
  }

  // MARK: Verifying

  /// Where the VM must be once reconciled: only on `host`, running when `running`.
  private struct Expectation {
    var host: String
    var running: Bool
  }

  /// The placement a rollback must leave: on the source only, running if it ran before the move.
  private static func afterRollback(_ move: PlannedMove) -> Expectation {
    Expectation(host: move.from, running: move.kind == .live || move.requiresShutdown)
  }

  /// The placement a completion must leave: on the destination only, running if it ran before.
  private static func afterCompletion(_ move: PlannedMove) -> Expectation {
    Expectation(host: move.to, running: move.kind == .live || move.requiresShutdown)
  }

  /// Asks the driver again where the VM is and throws unless it is where `expected` says: the
  /// journal records a move as ended only once the hypervisors agree.
  private func verify(_ move: PlannedMove, _ expected: Expectation) async throws {
    let placements = try await driver.locateSettled(vm: move.vm)
    let onHost = placements.filter { $0.host == expected.host }
    let fine =
      placements.count == 1 && onHost.count == 1
      && (expected.running ? onHost[0].state == .running : onHost[0].state != .incoming)
    guard !fine else { return }
    let found =
      placements.isEmpty
      ? "on no host" : placements.map { "\($0.state.rawValue) on \($0.host)" }.joined(separator: ", ")
    throw DriverError(
      vm: move.vm,
      "the driver reported success, but the VM is \(found) instead of only \(expected.running ? "running " : "")on "
        + expected.host,
      hint: "check the hypervisors of \(move.from) and \(move.to)")
  }

  // MARK: Rolling back

  private func rollBack(
    _ unfinished: UnfinishedMove, steps: [Situation.RollbackStep], detail: String, lastStageError: String? = nil
  ) async throws {
    let move = unfinished.move
    let reservation = Self.recoveredReservation(move)
    var released = false
    for step in steps {
      switch step {
      case .resumeOnSource:
        try await driver.resumeOnSource(reservation)
      case .releaseDestination:
        try await driver.release(reservation)
        released = true
      case .discardDestination:
        try await driver.discardDestination(reservation.request, reservation: reservation)
        released = true
      case .startOnSource:
        try await driver.start(vm: move.vm, on: move.from)
      }
    }
    try await verify(move, Self.afterRollback(move))
    let note = StageFigures(note: "reconcile: " + detail)
    if let stage = unfinished.lastStage {
      try await journal.stageOutcome(
        move: unfinished.id, stage: stage, outcome: .rolledBack, at: now(), figures: note, error: lastStageError)
      if released, stage.number > MigrationStage.reservation.number {
        try await journal.stageOutcome(
          move: unfinished.id, stage: .reservation, outcome: .rolledBack, at: now(), figures: note, error: nil)
      }
    }
    try await journal.moveFinished(move: unfinished.id, outcome: .rolledBack, measured: nil, at: now(), detail: detail)
  }

  // MARK: Completing

  private func complete(_ unfinished: UnfinishedMove, steps: [Situation.ForwardStep], detail: String) async throws {
    let move = unfinished.move
    let reservation = Self.recoveredReservation(move)
    let note = StageFigures(note: "reconcile: " + detail)
    for step in steps {
      switch step {
      case .confirm(let stage):
        try await journal.stageOutcome(
          move: unfinished.id, stage: stage, outcome: .succeeded, at: now(), figures: note, error: nil)
      case .perform(let stage, let action):
        // The dead process wrote this stage's intent already when it was the last one; else
        // write it now, before acting.
        if !(unfinished.lastStage == stage && !unfinished.lastStageSucceeded) {
          try await journal.stageIntent(move: unfinished.id, stage: stage, at: now())
        }
        switch action {
        case .commit: try await driver.commit(reservation)
        case .activate: try await driver.activate(reservation)
        case .removeSource: try await driver.removeSource(reservation.request)
        case .startOnDestination: try await driver.start(vm: move.vm, on: move.to)
        }
        try await journal.stageOutcome(
          move: unfinished.id, stage: stage, outcome: .succeeded, at: now(), figures: note, error: nil)
      }
    }
    try await verify(move, Self.afterCompletion(move))
    try await journal.moveFinished(move: unfinished.id, outcome: .completed, measured: nil, at: now(), detail: detail)
  }

  /// The reservation of a dead process, rebuilt from the journal (its token is not known).
  static func recoveredReservation(_ move: PlannedMove) -> Reservation {
    Reservation(
      request: MigrationRequest(
        vm: move.vm, from: move.from, to: move.to, kind: move.kind, disksToCopy: move.disksToCopy),
      token: "")
  }
}
