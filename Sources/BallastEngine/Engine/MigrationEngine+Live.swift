import BallastModel
import Synchronization

/// What a live transfer's callback saw, shared with the engine task that waits for it.
private final class TransferProgress: Sendable {
  struct State {
    var rounds: [PreCopyRound] = []
    var inStopAndCopy = false
    var journalFailure: String?
  }
  let state = Mutex(State())
}

extension MigrationEngine {
  /// Live: 0 pre-migration, 1 reservation, 2 pre-copy, 3 stop-and-copy, 4 commitment, 5 activation.
  func runLive(_ run: MoveRun) async -> MoveResult {
    let move = run.move
    // 0. Pre-migration: the checks again, against the cluster as it is now.
    let accepted: PreflightResult
    switch await run.preflight(.preMigration) {
    case .failure(let stop): return stop.result
    case .success(let result): accepted = result
    }
    await run.end(.preMigration, .succeeded)
    if mustAbort { return run.result(.skipped, reason: "cancelled before anything changed") }

    // 1. Reservation: an empty, paused container on the destination.
    let request = MigrationRequest(
      vm: move.vm, from: move.from, to: move.to, kind: .live, bandwidthCap: policy.bandwidthCap)
    do {
      try await run.begin(.reservation)
    } catch {
      return run.result(.skipped, reason: "\(error); nothing changed")
    }
    let reservation: Reservation
    do {
      reservation = try await driver.reserve(request)
    } catch {
      await run.end(.reservation, .failed, error: "\(error)")
      return run.result(.rolledBack, reason: "reservation refused: \(error)", failedStage: .reservation)
    }
    await run.end(.reservation, .succeeded, figures: StageFigures(note: "container \(reservation.token) ready"))
    if mustAbort {
      return await rollbackLive(run, reservation, reason: "cancelled", failedStage: nil)
    }

    // 2–3. Pre-copy rounds, then stop-and-copy (the driver decides when, by the policy).
    do {
      try await run.begin(.preCopy, figures: StageFigures(remaining: accepted.vm.memory.double))
    } catch {
      return await rollbackLive(run, reservation, reason: "\(error)", failedStage: .preCopy)
    }
    shared.withLock { $0.transfers[run.token] = reservation }
    if mustAbort { abortTransfer(reservation) }  // cancelled just before the transfer was registered
    let progress = TransferProgress()
    let settings = LiveSettings(
      downtimeLimit: policy.downtimeLimit, bandwidthCap: policy.bandwidthCap, convergence: policy.convergence)
    let transferred: TransferResult
    do {
      transferred = try await driver.transfer(reservation, settings: settings) { event in
        await self.onTransferEvent(event, run: run, reservation: reservation, progress: progress)
      }
    } catch {
      shared.withLock { _ = $0.transfers.removeValue(forKey: run.token) }
      let stage: MigrationStage = progress.state.withLock { $0.inStopAndCopy } ? .stopAndCopy : .preCopy
      let cancelled = mustAbort
      await run.end(stage, cancelled ? .aborted : .failed, error: "\(error)")
      return await rollbackLive(
        run, reservation, reason: cancelled ? "cancelled during \(stage.rawValue)" : "\(error)",
        failedStage: cancelled ? nil : stage)
    }
    shared.withLock { _ = $0.transfers.removeValue(forKey: run.token) }
    if let failure = progress.state.withLock({ $0.journalFailure }) {
      return await rollbackLive(run, reservation, reason: failure, failedStage: .stopAndCopy)
    }
    await run.end(
      .stopAndCopy, .succeeded,
      figures: StageFigures(
        round: transferred.rounds, bytesSent: transferred.bytesSent, remaining: 0,
        downtimeMs: transferred.downtimeMs, throttle: transferred.throttle))
    if mustAbort {
      return await rollbackLive(run, reservation, reason: "cancelled before commitment", failedStage: nil)
    }

    // 4. Commitment: the destination confirms; the source copy is given up.
    do {
      try await run.begin(.commitment)
    } catch {
      return await rollbackLive(run, reservation, reason: "\(error)", failedStage: .commitment)
    }
    do {
      try await driver.commit(reservation)
    } catch {
      await run.end(.commitment, .failed, error: "\(error)")
      return await rollbackLive(run, reservation, reason: "commitment failed: \(error)", failedStage: .commitment)
    }
    run.releaseHold()  // the inventory shows the VM on its destination now
    await run.end(.commitment, .succeeded, figures: StageFigures(note: "source copy on \(move.from) given up"))

    // 5. Activation: resume on the destination, announce, remove the paused source.
    do {
      try await run.begin(.activation)
    } catch {
      logger.error("journal: activation not journaled; activating anyway", metadata: ["vm": "\(move.vm)"])
    }
    if let error = await retrying({ try await driver.activate(reservation) }) {
      await run.end(.activation, .failed, error: "\(error)")
      return run.result(
        .needsAttention,
        reason: "VM \(move.vm) is committed to \(move.to) but did not resume there after \(options.attempts) "
          + "attempts (\(error)); its state is on \(move.to), paused; resume it there or run `ballast reconcile`",
        failedStage: .activation)
    }
    await run.end(.activation, .succeeded, figures: StageFigures(note: "running on \(move.to), announced"))
    return run.result(
      .completed,
      measured: MeasuredCost(
        seconds: clock.uptime() - run.startedAt, downtimeMs: transferred.downtimeMs, bytes: transferred.bytesSent,
        rounds: transferred.rounds))
  }

  private func onTransferEvent(
    _ event: TransferEvent, run: MoveRun, reservation: Reservation, progress: TransferProgress
  ) async {
    switch event {
    case .round(let round):
      progress.state.withLock { $0.rounds.append(round) }
      run.emit(
        .progress, stage: .preCopy,
        figures: StageFigures(
          round: round.index, bytesSent: round.bytesSent, bytesDirtied: round.bytesDirtied, remaining: round.remaining,
          bandwidthBytesPerSecond: round.bandwidthBytesPerSecond, throttle: round.throttle))
      if mustAbort { abortTransfer(reservation) }
    case .stopAndCopyStarting(let remaining):
      let rounds = progress.state.withLock { $0.rounds }
      await run.end(
        .preCopy, .succeeded,
        figures: StageFigures(
          round: rounds.count, bytesSent: rounds.reduce(0) { $0 + $1.bytesSent }, remaining: remaining,
          bandwidthBytesPerSecond: rounds.last?.bandwidthBytesPerSecond, throttle: rounds.last?.throttle))
      do {
        try await run.begin(.stopAndCopy, figures: StageFigures(remaining: remaining))
        progress.state.withLock { $0.inStopAndCopy = true }
      } catch {
        // The pause must not happen unjournaled: stop the transfer.
        progress.state.withLock { $0.journalFailure = "\(error)" }
        abortTransfer(reservation)
      }
      if mustAbort { abortTransfer(reservation) }
    }
  }

  /// Undoes a live move before commitment: the VM runs on its source, the container goes.
  private func rollbackLive(
    _ run: MoveRun, _ reservation: Reservation, reason: String, failedStage: MigrationStage?
  ) async -> MoveResult {
    let move = run.move
    if let error = await retrying({ try await driver.resumeOnSource(reservation) }) {
      let placements = (try? await driver.locate(vm: move.vm)) ?? []
      if !placements.contains(VMPlacement(host: move.from, state: .running)) {
        return run.result(
          .needsAttention,
          reason: "\(reason); then VM \(move.vm) could not be resumed on \(move.from) (\(error)); it is paused there, "
            + "uncommitted: resume it on \(move.from) and remove the container on \(move.to)",
          failedStage: failedStage)
      }
    }
    var outcomeReason = reason
    if let error = await retrying({ try await driver.release(reservation) }) {
      await run.end(.reservation, .failed, error: "cannot release: \(error)")
      outcomeReason += "; the empty container on \(move.to) could not be removed (\(error))"
    } else {
      await run.end(
        .reservation, .rolledBack, figures: StageFigures(note: "container on \(move.to) removed, VM on \(move.from)"))
    }
    run.releaseHold()
    return run.result(.rolledBack, reason: outcomeReason, failedStage: failedStage)
  }
}
