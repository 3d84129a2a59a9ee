import BallastModel

extension MigrationEngine {
  /// Cold: 0 verify off (or shut down), 1 reservation, 2 copy, 3 register, 4 commitment, 5 start.
  func runCold(_ run: MoveRun) async -> MoveResult {
    let move = run.move
    // 0. Verify the VM is off, or shut it down when the plan says so.
    let accepted: PreflightResult
    switch await run.preflight(.verifyOff) {
    case .failure(let stop): return stop.result
    case .success(let result): accepted = result
    }
    let shutDown = accepted.running
    var downtimeStart: Double?
    if shutDown {
      if mustAbort {
        await run.end(.verifyOff, .aborted, error: "cancelled before the shutdown")
        return run.result(.skipped, reason: "cancelled before anything changed")
      }
      downtimeStart = clock.uptime()
      do {
        try await driver.shutdown(vm: move.vm, on: move.from, timeout: options.shutdownTimeout)
      } catch {
        await run.end(.verifyOff, .failed, error: "\(error)")
        return await rollbackCold(
          run, nil, shutDown: true, reason: "shutdown failed: \(error)", failedStage: .verifyOff)
      }
    }
    await run.end(
      .verifyOff, .succeeded, figures: StageFigures(note: shutDown ? "shut down on \(move.from)" : "already off"))
    if mustAbort { return await rollbackCold(run, nil, shutDown: shutDown, reason: "cancelled", failedStage: nil) }

    // 1. Reservation on the destination.
    let request = MigrationRequest(
      vm: move.vm, from: move.from, to: move.to, kind: .cold, disksToCopy: accepted.disksToCopy,
      bandwidthCap: policy.bandwidthCap)
    let reservation: Reservation
    do {
      try await run.begin(.reservation)
      do {
        reservation = try await driver.reserve(request)
      } catch {
        await run.end(.reservation, .failed, error: "\(error)")
        throw error
      }
    } catch {
      return await rollbackCold(
        run, nil, shutDown: shutDown, reason: "reservation refused: \(error)", failedStage: .reservation)
    }
    await run.end(.reservation, .succeeded, figures: StageFigures(note: "capacity held (\(reservation.token))"))

    // 2. Copy configuration, logs and moving disks, verified by checksum.
    let copied: CopyResult
    do {
      try abortPoint()
      try await run.begin(
        .copy, figures: StageFigures(note: "\(accepted.disksToCopy.count) disk(s) to copy"))
      do {
        copied = try await driver.copyFiles(request, reservation: reservation)
      } catch {
        await run.end(.copy, .failed, error: "\(error)")
        throw error
      }
    } catch {
      return await rollbackCold(run, reservation, shutDown: shutDown, reason: "\(error)", failedStage: .copy)
    }
    await run.end(
      .copy, .succeeded,
      figures: StageFigures(
        bytesSent: copied.bytes, bandwidthBytesPerSecond: copied.seconds > 0 ? copied.bytes / copied.seconds : nil,
        checksum: copied.checksums.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
        note: "\(copied.checksums.count) file(s) verified"))

    // 3. Register on the destination (defined, off).
    do {
      try abortPoint()
      try await run.begin(.register)
      do {
        try await driver.register(request, reservation: reservation)
      } catch {
        await run.end(.register, .failed, error: "\(error)")
        throw error
      }
    } catch {
      return await rollbackCold(run, reservation, shutDown: shutDown, reason: "\(error)", failedStage: .register)
    }
    await run.end(.register, .succeeded, figures: StageFigures(note: "defined on \(move.to), off"))

    // 4. Commitment: the source definition and files go, now that the copy is verified.
    do {
      try abortPoint()
      try await run.begin(.commitment)
      do {
        try await driver.removeSource(request)
      } catch {
        await run.end(.commitment, .failed, error: "\(error)")
        throw error
      }
    } catch {
      return await rollbackCold(run, reservation, shutDown: shutDown, reason: "\(error)", failedStage: .commitment)
    }
    await run.end(.commitment, .succeeded, figures: StageFigures(note: "source definition on \(move.from) removed"))

    // 5. Start it on the destination if it was running.
    do {
      try await run.begin(.start)
    } catch {
      logger.error("journal: start not journaled; starting anyway", metadata: ["vm": "\(move.vm)"])
    }
    if shutDown {
      if let error = await retrying({ try await driver.start(vm: move.vm, on: move.to) }) {
        await run.end(.start, .failed, error: "\(error)")
        run.releaseHold()
        return run.result(
          .needsAttention,
          reason: "VM \(move.vm) moved to \(move.to) but did not start there after \(options.attempts) attempts "
            + "(\(error)); it is defined there and off: start it",
          failedStage: .start)
      }
    }
    run.releaseHold()
    await run.end(
      .start, .succeeded, figures: StageFigures(note: shutDown ? "running on \(move.to)" : "left off (it was off)"))
    let downtime = downtimeStart.map { (clock.uptime() - $0) * 1000 } ?? 0
    return run.result(
      .completed,
      measured: MeasuredCost(
        seconds: clock.uptime() - run.startedAt, downtimeMs: downtime, bytes: copied.bytes, rounds: 0))
  }

  /// Throws when a cancellation must stop the move here.
  private func abortPoint() throws {
    if mustAbort { throw CancelledMove() }
  }

  /// Undoes a cold move before commitment: the destination copy goes, the VM is started again
  /// on its source if it was shut down for the move.
  private func rollbackCold(
    _ run: MoveRun, _ reservation: Reservation?, shutDown: Bool, reason: String, failedStage: MigrationStage?
  ) async -> MoveResult {
    let move = run.move
    var outcomeReason = reason
    if let reservation {
      if let error = await retrying({
        try await driver.discardDestination(reservation.request, reservation: reservation)
      }) {
        await run.end(.reservation, .failed, error: "cannot discard the destination copy: \(error)")
        outcomeReason += "; the partial copy on \(move.to) could not be removed (\(error))"
      } else {
        await run.end(
          .reservation, .rolledBack, figures: StageFigures(note: "copy on \(move.to) removed, capacity released"))
      }
    }
    run.releaseHold()
    if shutDown {
      let placements = (try? await driver.locate(vm: move.vm)) ?? []
      if !placements.contains(VMPlacement(host: move.from, state: .running)) {
        if let error = await retrying({ try await driver.start(vm: move.vm, on: move.from) }) {
          return run.result(
            .needsAttention,
            reason: "\(outcomeReason); then VM \(move.vm), shut down for the move, did not start again on "
              + "\(move.from) (\(error)): start it there",
            failedStage: failedStage)
        }
      }
    }
    return run.result(.rolledBack, reason: outcomeReason, failedStage: failedStage)
  }
}

/// A cancellation reached a move between two stages.
struct CancelledMove: Error, CustomStringConvertible {
  var description: String { "cancelled" }
}
