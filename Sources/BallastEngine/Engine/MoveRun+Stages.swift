import BallastModel

/// Why a move stops at a stage, as its stop handler is told.
struct Interruption: Sendable {
  enum Cause: Sendable, Hashable {
    /// Stage 0 found the move not possible now: a rejected move, not an error.
    case notPossible
    /// Cancelled (the policy's `onCancel: abort`) before or during the stage.
    case cancelled
    /// The journal could not record the stage's intent, so its step did not run.
    case unjournaled
    /// The stage's step failed.
    case failed
  }

  /// The stage the move stopped in (or before, when cancelled between stages).
  var stage: MigrationStage
  var cause: Cause
  /// What happened, in an operator's words.
  var reason: String

  /// The stage to report as failed: none for a cancellation or a move found not possible.
  var failedStage: MigrationStage? {
    switch cause {
    case .failed, .unjournaled: stage
    case .cancelled, .notPossible: nil
    }
  }
}

/// What a move does when a stage stops it: before commitment, roll back what the earlier
/// stages did; after it, report where the VM is.
typealias StopHandler = (Interruption) async -> MoveResult

extension MoveRun {
  /// Performs `stage`: journals its intent, runs its step (`act`), journals and reports how it
  /// ended. This is the one way a move runs a stage; both kinds are a table of calls to it.
  ///
  /// Before commitment (stages 0–4) the stage is a cancellation point: when the run was
  /// cancelled with `onCancel: abort`, the stage does not begin. If its intent cannot be
  /// journaled its step does not run. If the step fails (or is cut short by a cancellation,
  /// for an `interruptible` step such as a live transfer, which ``MigrationEngine/cancel()``
  /// aborts) the stage in progress is recorded `failed` (`aborted`), and `onStop` undoes what
  /// the earlier stages did; its result is thrown as ``Stop``.
  ///
  /// After commitment (stage 5) nothing can be undone: an unjournaled intent is logged and the
  /// step runs anyway, the step is retried while its failures are transient
  /// (``MigrationEngine/retrying(_:)``), and `onStop` reports where the VM is.
  ///
  /// A step may span stages: it begins the next one itself (``begin(_:figures:)`` or, for a
  /// stage in `journaledAhead`, ``announce(_:figures:)``), and the stage in progress when it
  /// returns is the one recorded `succeeded` with `outcome`'s figures.
  ///
  /// - Parameters:
  ///   - intent: figures reported as the stage begins.
  ///   - failure: how a failure reads in the move's reason, before the error (`reservation refused`).
  ///   - interruptible: a cancellation aborts the step itself; an error while cancelling is the cancellation.
  ///   - journaledAhead: later stages whose intent is journaled right after this one's, before
  ///     the step runs (an atomic switchover carries them out inside one driver call). Those
  ///     the step never begins are closed in the journal as `aborted` when the move stops.
  func perform<Value>(
    _ stage: MigrationStage, intent: StageFigures = StageFigures(), failure: String? = nil,
    interruptible: Bool = false, journaledAhead: [MigrationStage] = [], onStop: StopHandler,
    _ act: () async throws -> Value, outcome: (Value) -> StageFigures = { _ in StageFigures() }
  ) async throws(Stop) -> Value {
    // A process whose lease was taken over touches nothing more: no step, no rollback.
    if let fenced = engine.fencedOut { throw Stop(fencedOut(fenced, at: stage)) }
    if stage.number > MigrationStage.commitment.number {
      return try await performAfterCommitment(stage, intent: intent, onStop: onStop, act, outcome: outcome)
    }
    if engine.mustAbort {
      throw Stop(
        await onStop(Interruption(stage: stage, cause: .cancelled, reason: "cancelled before \(stage.rawValue)")))
    }
    var journaled: [MigrationStage] = []
    do throws(JournalFailure) {
      try await begin(stage, figures: intent)
      for later in journaledAhead {
        try await journalIntent(later)
        journaled.append(later)
      }
    } catch {
      if let fenced = engine.fencedOut { throw Stop(fencedOut(fenced, at: error.stage)) }
      if inProgress == stage { await end(stage, .failed, error: "\(error)") }
      for later in journaled { await journalOutcome(later, .aborted, error: "not reached: \(error)") }
      throw Stop(await onStop(Interruption(stage: error.stage, cause: .unjournaled, reason: "\(error)")))
    }
    let value: Value
    do {
      value = try await act()
    } catch {
      let open = inProgress
      let stop = interruption(error, in: open ?? lastBegun ?? stage, failure: failure, interruptible: interruptible)
      if let open {
        await end(
          open, stop.cause == .cancelled ? .aborted : .failed,
          figures: stop.cause == .notPossible ? StageFigures(note: "not possible") : StageFigures(),
          error: "\(error)")
      }
      for later in journaledAhead where !hasBegun(later) && engine.fencedOut == nil {
        await journalOutcome(later, .aborted, error: "not reached: the move stopped in \(stop.stage.rawValue)")
      }
      if let fenced = engine.fencedOut { throw Stop(fencedOut(fenced, at: stop.stage)) }
      throw Stop(await onStop(stop))
    }
    await end(inProgress ?? lastBegun ?? stage, .succeeded, figures: outcome(value))
    return value
  }

  /// Stage 5: journaled if the journal can, retried, never undone.
  private func performAfterCommitment<Value>(
    _ stage: MigrationStage, intent: StageFigures, onStop: StopHandler, _ act: () async throws -> Value,
    outcome: (Value) -> StageFigures
  ) async throws(Stop) -> Value {
    do {
      try await begin(stage, figures: intent)
    } catch {
      engine.logger.error(
        "journal: \(stage.rawValue) not journaled; going on, the VM is committed to its destination",
        metadata: ["vm": "\(move.vm)", "error": "\(error)"])
      announce(stage, figures: intent)
    }
    var value: Value?
    let failure = await engine.retrying { value = try await act() }
    guard let value, failure == nil else {
      let reason = failure.map { "\($0)" } ?? "no result"
      await end(stage, .failed, error: reason)
      throw Stop(await onStop(Interruption(stage: stage, cause: .failed, reason: reason)))
    }
    await end(stage, .succeeded, figures: outcome(value))
    return value
  }

  /// How an error of the step of `stage` stops the move.
  private func interruption(
    _ error: any Error, in stage: MigrationStage, failure: String?, interruptible: Bool
  ) -> Interruption {
    switch error {
    case let notPossible as NotPossible:
      return Interruption(stage: stage, cause: .notPossible, reason: notPossible.description)
    case let journal as JournalFailure:
      return Interruption(stage: journal.stage, cause: .unjournaled, reason: journal.description)
    case let cancelled as CancelledMove:
      return Interruption(stage: stage, cause: .cancelled, reason: cancelled.description)
    default:
      if interruptible && engine.mustAbort {
        return Interruption(stage: stage, cause: .cancelled, reason: "cancelled during \(stage.rawValue)")
      }
      return Interruption(stage: stage, cause: .failed, reason: failure.map { "\($0): \(error)" } ?? "\(error)")
    }
  }
}
