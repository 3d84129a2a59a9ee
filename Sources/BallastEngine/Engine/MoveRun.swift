import BallastModel

/// One move being executed: journals and reports its stages.
struct MoveRun: Sendable {
  let engine: MigrationEngine
  let index: Int
  let move: PlannedMove
  let moveID: MoveID?
  /// The engine's handle of this move (capacity holds, transfers to abort).
  let token: Int
  /// `clock.uptime()` when the plan and the move started.
  let planStart: Double
  let startedAt: Double

  init(engine: MigrationEngine, index: Int, move: PlannedMove, moveID: MoveID?, token: Int, planStart: Double) {
    self.engine = engine
    self.index = index
    self.move = move
    self.moveID = moveID
    self.token = token
    self.planStart = planStart
    self.startedAt = engine.clock.uptime()
  }

  /// Seconds since the plan started.
  var elapsed: Double { engine.clock.uptime() - planStart }

  func emit(
    _ type: EngineEvent.EventType, stage: MigrationStage? = nil, stageOutcome: StageOutcome? = nil,
    moveOutcome: MoveOutcome? = nil, figures: StageFigures = StageFigures(), message: String? = nil
  ) {
    engine.emit(
      EngineEvent(
        type: type, move: index, vm: move.vm, from: move.from, to: move.to, kind: move.kind, stage: stage,
        stageOutcome: stageOutcome, moveOutcome: moveOutcome, at: elapsed, time: engine.clock.now(), figures: figures,
        message: message))
  }

  /// Journals the intent of `stage`, then reports it. Throws when the journal cannot record
  /// it: the stage's step must then not run.
  func begin(_ stage: MigrationStage, figures: StageFigures = StageFigures()) async throws {
    if let moveID {
      do {
        try await engine.journal.stageIntent(move: moveID, stage: stage, at: engine.clock.now())
      } catch {
        throw JournalFailure(stage: stage, underlying: "\(error)")
      }
    }
    emit(.stageStarted, stage: stage, figures: figures)
  }

  /// Journals and reports how `stage` ended.
  func end(
    _ stage: MigrationStage, _ outcome: StageOutcome, figures: StageFigures = StageFigures(), error: String? = nil
  ) async {
    if let moveID {
      do {
        try await engine.journal.stageOutcome(
          move: moveID, stage: stage, outcome: outcome, at: engine.clock.now(), figures: figures, error: error)
      } catch {
        engine.logger.error(
          "journal: cannot record a stage outcome",
          metadata: ["vm": "\(move.vm)", "stage": "\(stage.rawValue)", "error": "\(error)"])
      }
    }
    emit(.stageEnded, stage: stage, stageOutcome: outcome, figures: figures, message: error)
  }

  func result(
    _ outcome: MoveOutcome, reason: String? = nil, failedStage: MigrationStage? = nil, measured: MeasuredCost? = nil
  ) -> MoveResult {
    MoveResult(
      index: index, move: move, outcome: outcome, reason: reason, failedStage: failedStage, measured: measured,
      startedAt: startedAt - planStart, endedAt: elapsed)
  }

  /// Stage 0 checks against the driver's inventory; on success the destination capacity is held.
  func preflight(_ stage: MigrationStage) async -> Result<PreflightResult, Stop> {
    do {
      try await begin(stage)
    } catch {
      return .failure(Stop(result(.skipped, reason: "\(error); the move did not start")))
    }
    do {
      let cluster = try await engine.driver.inventory()
      let placements = try await engine.driver.locate(vm: move.vm)
      let checked = engine.shared.withLock { state in
        let held = state.holds.filter { $0.key != token }.map(\.value)
        let checked = PreflightCheck.check(
          move, cluster: cluster, placements: placements, policy: engine.policy, held: held)
        if case .success(let accepted) = checked { state.holds[token] = accepted.hold }
        return checked
      }
      switch checked {
      case .success(let accepted):
        return .success(accepted)
      case .failure(let notPossible):
        await end(stage, .failed, figures: StageFigures(note: "not possible"), error: notPossible.description)
        return .failure(Stop(result(.skipped, reason: "not possible — \(notPossible)")))
      }
    } catch {
      await end(stage, .failed, error: "\(error)")
      return .failure(Stop(result(.rolledBack, reason: "stage 0 failed: \(error)", failedStage: stage)))
    }
  }

  /// Gives back the destination capacity this move held.
  func releaseHold() {
    _ = engine.shared.withLock { $0.holds.removeValue(forKey: token) }
  }
}

/// A move that ends early, with its result.
struct Stop: Error {
  let result: MoveResult
  init(_ result: MoveResult) { self.result = result }
}

/// The journal could not record a stage's intent, so the stage did not run.
struct JournalFailure: Error, CustomStringConvertible {
  let stage: MigrationStage
  let underlying: String
  var description: String { "the journal cannot record stage \(stage.rawValue) (\(underlying))" }
}
