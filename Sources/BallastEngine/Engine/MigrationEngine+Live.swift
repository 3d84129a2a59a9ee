import BallastModel
import Synchronization

/// What a live transfer did, for the move's result and the cost model's observation.
struct LiveTransfer: Sendable {
  var result: TransferResult
  /// When the driver call began and ended (`clock.uptime()`).
  var began: Double
  var ended: Double
  var firstRoundBytes: Double?
  var finalCopyBytes: Double?
  /// The transfer's average share of the links (1: alone).
  var fairShare: Double
}

/// What a live transfer's callback saw, shared with the engine task that waits for it.
private final class TransferProgress: Sendable {
  struct State {
    var rounds: [PreCopyRound] = []
    var journalFailure: JournalFailure?
    /// What was left when the guest stopped, as the driver said.
    var finalCopyBytes: Double?
  }
  let state = Mutex(State())
}

extension MigrationEngine {
  /// Live: 0 pre-migration, 1 reservation, 2 pre-copy, 3 stop-and-copy, 4 commitment, 5 activation.
  func runLive(_ run: MoveRun) async -> MoveResult {
    let move = run.move
    var reservation: Reservation?
    func unwind(_ stop: Interruption) async -> MoveResult {
      guard let reservation else { return run.nothingChanged(stop) }
      return await rollbackLive(run, reservation, reason: stop.reason, failedStage: stop.failedStage)
    }
    do throws(Stop) {
      // 0. Pre-migration: the checks again, against the cluster as it is now.
      let accepted = try await run.perform(.preMigration, onStop: unwind) { try await run.check() }

      // 1. Reservation: an empty, paused container on the destination.
      let request = MigrationRequest(
        vm: move.vm, from: move.from, to: move.to, kind: .live, bandwidthCap: policy.bandwidthCap)
      let reserved = try await run.perform(.reservation, failure: "reservation refused", onStop: unwind) {
        try await driver.reserve(request)
      } outcome: {
        StageFigures(note: "container \($0.token) ready")
      }
      reservation = reserved

      // 2–4. Pre-copy rounds, then stop-and-copy (the driver decides when, by the policy), then commitment.
      let transfer: LiveTransfer
      switch driver.switchover {
      case .staged:
        transfer = try await run.perform(
          .preCopy, intent: StageFigures(remaining: accepted.vm.memory.double), interruptible: true, onStop: unwind
        ) {
          try await self.transfer(run, reserved, accepted: accepted)
        } outcome: {
          Self.stopAndCopyFigures($0.result)
        }
        // 4. Commitment: the destination confirms; the source copy is given up.
        try await run.perform(.commitment, failure: "commitment failed", onStop: unwind) {
          try await driver.commit(reserved)
          run.releaseHold()  // the inventory shows the VM on its destination now
        } outcome: { _ in
          StageFigures(note: "source copy on \(move.from) given up")
        }
      case .atomic:
        // 2–4 in one driver call: the intents of all three are journaled before it.
        transfer = try await run.perform(
          .preCopy, intent: StageFigures(remaining: accepted.vm.memory.double), interruptible: true,
          journaledAhead: [.stopAndCopy, .commitment], onStop: unwind
        ) {
          try await self.transfer(run, reserved, accepted: accepted)
        } outcome: {
          Self.stopAndCopyFigures($0.result)
        }
        run.releaseHold()  // committed by the driver: the inventory shows the VM on its destination
        run.announce(.commitment)
        await run.end(
          .commitment, .succeeded,
          figures: StageFigures(note: "switched over by the driver; the source on \(move.from) is gone"))
      }

      // 5. Activation: resume on the destination, announce, remove the paused source.
      func stranded(_ stop: Interruption) -> MoveResult {
        run.result(
          .needsAttention,
          reason: "VM \(move.vm) is committed to \(move.to) but did not resume there (\(stop.reason)); its state is "
            + "on \(move.to), paused; resume it there or run `ballast reconcile`",
          failedStage: .activation)
      }
      try await run.perform(.activation, onStop: stranded) {
        try await driver.activate(reserved)
      } outcome: { _ in
        StageFigures(note: "running on \(move.to), announced")
      }
      let transferred = transfer.result
      // The guest's real outage, from its stop to its resume here, when the driver can tell;
      // never shorter than the hypervisor's own pause.
      let downtime = max(transferred.downtimeMs / 1000, await driver.outage(of: reserved) ?? 0)
      let total = clock.uptime() - run.startedAt
      return run.result(
        .completed,
        measured: MeasuredCost(
          seconds: total, downtimeMs: downtime * 1000, bytes: transferred.bytesSent, rounds: transferred.rounds),
        observation: observation(run, accepted: accepted, transfer: transfer, total: total, downtime: downtime))
    } catch {
      return error.result
    }
  }

  /// What the completed live move showed: its steps' times, its transfer's figures and share.
  /// A `downtime` (the guest's outage) longer than the hypervisor's pause (the guest stayed
  /// stopped until activation resumed it) counts as pause and transfer, not as the steps after it.
  private func observation(
    _ run: MoveRun, accepted: PreflightResult, transfer: LiveTransfer, total: Double, downtime: Double
  ) -> MigrationObservation? {
    guard let source = accepted.source, let destination = accepted.destination else { return nil }
    let result = transfer.result
    let pause = result.downtimeMs / 1000
    let pausedLonger = downtime - pause
    // The driver's own figure of the transfer where it has one (QEMU's total time).
    let transferSeconds =
      (result.totalSeconds > 0 ? result.totalSeconds : transfer.ended - transfer.began) + pausedLonger
    let setup = max(transfer.began - run.startedAt, 0)
    var vm = accepted.vm
    vm.samples = []
    return MigrationObservation(
      vm: run.move.vm, from: run.move.from, to: run.move.to, kind: .live, vmAtStart: vm,
      downtimeLimitSeconds: policy.downtimeLimit.seconds, convergence: policy.convergence,
      nominalRate: min(source.migrationBandwidth.bytesPerSecond, destination.migrationBandwidth.bytesPerSecond),
      cap: policy.bandwidthCap?.bytesPerSecond, fairShare: transfer.fairShare, totalSeconds: total,
      setupSeconds: setup, transferSeconds: transferSeconds, finishSeconds: max(total - setup - transferSeconds, 0),
      bytes: result.bytesSent, rounds: result.rounds, firstRoundBytes: transfer.firstRoundBytes,
      finalCopyBytes: transfer.finalCopyBytes, downtimeSeconds: downtime, throttle: result.throttle,
      rateLimiter: accepted.rateLimiter, hypervisorDowntimeSeconds: pause)
  }

  /// Figures of a completed stop-and-copy: every round, every byte sent, the downtime.
  private static func stopAndCopyFigures(_ transferred: TransferResult) -> StageFigures {
    StageFigures(
      round: transferred.rounds, bytesSent: transferred.bytesSent, remaining: 0, downtimeMs: transferred.downtimeMs,
      throttle: transferred.throttle)
  }

  /// The step of stages 2–3 (2–4 for an atomic driver): the driver's transfer, registered for
  /// cancellation, its rounds reported and stop-and-copy begun as the driver says. Returns with
  /// stop-and-copy in progress (for an atomic driver: done, and the VM committed).
  private func transfer(
    _ run: MoveRun, _ reservation: Reservation, accepted: PreflightResult
  ) async throws -> LiveTransfer {
    shared.withLock { $0.transfers[run.token] = reservation }
    defer { shared.withLock { _ = $0.transfers.removeValue(forKey: run.token) } }
    run.transferBegins(accepted)
    let began = clock.uptime()
    var fairShare: Double?
    defer { if fairShare == nil { _ = run.transferEnds() } }
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
      // Stopped because stop-and-copy could not be journaled: say that, not the abort's error.
      if let failure = progress.state.withLock({ $0.journalFailure }) { throw failure }
      throw error
    }
    if !run.hasBegun(.stopAndCopy) {
      // A driver that never said the pause began: record both stages as they must be.
      await onTransferEvent(.stopAndCopyStarting(remaining: 0), run: run, reservation: reservation, progress: progress)
      progress.state.withLock { $0.finalCopyBytes = nil }  // not known
    }
    let ended = clock.uptime()
    let share = run.transferEnds()
    fairShare = share
    if let failure = progress.state.withLock({ $0.journalFailure }) { throw failure }
    let (first, final) = progress.state.withLock { ($0.rounds.first?.bytesSent, $0.finalCopyBytes) }
    return LiveTransfer(
      result: transferred, began: began, ended: ended, firstRoundBytes: first, finalCopyBytes: final,
      fairShare: share)
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
      guard !run.hasBegun(.stopAndCopy) else { return }
      progress.state.withLock { $0.finalCopyBytes = remaining }
      let rounds = progress.state.withLock { $0.rounds }
      await run.end(
        .preCopy, .succeeded,
        figures: StageFigures(
          round: rounds.count, bytesSent: rounds.reduce(0) { $0 + $1.bytesSent }, remaining: remaining,
          bandwidthBytesPerSecond: rounds.last?.bandwidthBytesPerSecond, throttle: rounds.last?.throttle))
      switch driver.switchover {
      case .atomic:
        run.announce(.stopAndCopy, figures: StageFigures(remaining: remaining))  // journaled before the call
      case .staged:
        do {
          try await run.begin(.stopAndCopy, figures: StageFigures(remaining: remaining))
        } catch {
          // The pause must not happen unjournaled: stop the transfer.
          progress.state.withLock { $0.journalFailure = error }
          abortTransfer(reservation)
        }
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
