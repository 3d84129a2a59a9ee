import BallastModel

extension MigrationEngine {
  /// Cold: 0 verify off (or shut down), 1 reservation, 2 copy, 3 register, 4 commitment, 5 start.
  func runCold(_ run: MoveRun) async -> MoveResult {
    let move = run.move
    var reservation: Reservation?
    /// Whether the VM was shut down (or a shutdown was tried) for the move.
    var shutDown = false
    var downtimeStart: Double?
    var shutdownSeconds: Double?
    var copyTimes: (began: Double, ended: Double, share: Double)?
    var bootSeconds: Double?
    func unwind(_ stop: Interruption) async -> MoveResult {
      guard reservation != nil || shutDown else { return run.nothingChanged(stop) }
      return await rollbackCold(
        run, reservation, shutDown: shutDown, reason: stop.reason, failedStage: stop.failedStage)
    }
    do throws(Stop) {
      // 0. Verify the VM is off, or shut it down when the plan says so.
      let accepted = try await run.perform(.verifyOff, onStop: unwind) {
        let accepted = try await run.check()
        if accepted.running {
          if mustAbort { throw CancelledMove("cancelled before the shutdown") }
          shutDown = true
          downtimeStart = clock.uptime()
          do {
            let began = clock.uptime()
            try await driver.shutdown(vm: move.vm, on: move.from, timeout: options.shutdownTimeout)
            shutdownSeconds = clock.uptime() - began
          } catch {
            throw StepFailure("shutdown failed: \(error)")
          }
        }
        return accepted
      } outcome: {
        StageFigures(note: $0.running ? "shut down on \(move.from)" : "already off")
      }

      // 1. Reservation on the destination.
      let request = MigrationRequest(
        vm: move.vm, from: move.from, to: move.to, kind: .cold, disksToCopy: accepted.disksToCopy,
        bandwidthCap: policy.bandwidthCap)
      let reserved = try await run.perform(.reservation, failure: "reservation refused", onStop: unwind) {
        try await driver.reserve(request)
      } outcome: {
        StageFigures(note: "capacity held (\($0.token))")
      }
      reservation = reserved

      // 2. Copy configuration, logs and moving disks, verified by checksum.
      let copied = try await run.perform(
        .copy, intent: StageFigures(note: "\(accepted.disksToCopy.count) disk(s) to copy"), onStop: unwind
      ) {
        run.transferBegins(accepted)
        let began = clock.uptime()
        do {
          let copied = try await driver.copyFiles(request, reservation: reserved)
          copyTimes = (began, clock.uptime(), run.transferEnds())
          return copied
        } catch {
          _ = run.transferEnds()
          throw error
        }
      } outcome: { copied in
        StageFigures(
          bytesSent: copied.bytes, bandwidthBytesPerSecond: copied.seconds > 0 ? copied.bytes / copied.seconds : nil,
          checksum: copied.checksums.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
          note: "\(copied.checksums.count) file(s) verified")
      }

      // 3. Register on the destination (defined, off).
      try await run.perform(.register, onStop: unwind) {
        try await driver.register(request, reservation: reserved)
      } outcome: { _ in
        StageFigures(note: "defined on \(move.to), off")
      }

      // 4. Commitment: the source definition and files go, now that the copy is verified.
      try await run.perform(.commitment, onStop: unwind) {
        try await driver.removeSource(request)
      } outcome: { _ in
        StageFigures(note: "source definition on \(move.from) removed")
      }

      // 5. Start it on the destination if it was running.
      func stranded(_ stop: Interruption) -> MoveResult {
        run.releaseHold()
        return run.result(
          .needsAttention,
          reason: "VM \(move.vm) moved to \(move.to) but did not start there (\(stop.reason)); it is defined there "
            + "and off: start it",
          failedStage: .start)
      }
      try await run.perform(.start, onStop: stranded) {
        if accepted.running {
          let began = clock.uptime()
          try await driver.start(vm: move.vm, on: move.to)
          bootSeconds = clock.uptime() - began
        }
        run.releaseHold()
      } outcome: { _ in
        StageFigures(note: accepted.running ? "running on \(move.to)" : "left off (it was off)")
      }
      let downtime = downtimeStart.map { (clock.uptime() - $0) * 1000 } ?? 0
      let total = clock.uptime() - run.startedAt
      var observation: MigrationObservation?
      if let copyTimes, let source = accepted.source, let destination = accepted.destination {
        let copySeconds = copied.seconds > 0 ? copied.seconds : copyTimes.ended - copyTimes.began
        let setup = max(copyTimes.began - run.startedAt - (shutdownSeconds ?? 0), 0)
        var vm = accepted.vm
        vm.samples = []
        observation = MigrationObservation(
          vm: move.vm, from: move.from, to: move.to, kind: .cold, vmAtStart: vm,
          downtimeLimitSeconds: policy.downtimeLimit.seconds, convergence: policy.convergence,
          nominalRate: min(source.migrationBandwidth.bytesPerSecond, destination.migrationBandwidth.bytesPerSecond),
          cap: policy.bandwidthCap?.bytesPerSecond, fairShare: copyTimes.share, totalSeconds: total,
          setupSeconds: setup, transferSeconds: copySeconds,
          finishSeconds: max(total - setup - (shutdownSeconds ?? 0) - copySeconds - (bootSeconds ?? 0), 0),
          bytes: copied.bytes, rounds: 0, downtimeSeconds: downtime / 1000, shutdownSeconds: shutdownSeconds,
          bootSeconds: bootSeconds)
      }
      return run.result(
        .completed,
        measured: MeasuredCost(seconds: total, downtimeMs: downtime, bytes: copied.bytes, rounds: 0),
        observation: observation)
    } catch {
      return error.result
    }
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
