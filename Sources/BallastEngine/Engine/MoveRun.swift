import BallastModel
import Synchronization

/// One move being executed: journals and reports its stages, and performs them one by one
/// (``perform(_:intent:failure:interruptible:journaledAhead:onStop:_:outcome:)``).
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
  /// The stages begun so far, the one in progress last.
  let begun = BegunStages()

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

  /// The stage in progress: the last one begun, unless it has ended.
  var inProgress: MigrationStage? {
    begun.log.withLock { log in log.begun.last.flatMap { log.ended.contains($0) ? nil : $0 } }
  }

  /// The last stage begun, ended or not.
  var lastBegun: MigrationStage? { begun.log.withLock { $0.begun.last } }

  /// Whether `stage` has begun (its `stageStarted` event was sent).
  func hasBegun(_ stage: MigrationStage) -> Bool { begun.log.withLock { $0.begun.contains(stage) } }

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
  func begin(_ stage: MigrationStage, figures: StageFigures = StageFigures()) async throws(JournalFailure) {
    try await journalIntent(stage)
    announce(stage, figures: figures)
  }

  /// Journals the intent of `stage` without reporting it: for a stage whose intent must be on
  /// record before a driver call that may carry it out (an atomic switchover), reported with
  /// ``announce(_:figures:)`` once it really begins.
  func journalIntent(_ stage: MigrationStage) async throws(JournalFailure) {
    guard let moveID else { return }
    do {
      try await engine.journal.stageIntent(move: moveID, stage: stage, at: engine.clock.now())
    } catch {
      if let fenced = error as? JournalFenced { engine.fence(fenced) }
      throw JournalFailure(stage: stage, underlying: "\(error)")
    }
  }

  /// Reports that `stage` begins (its intent is already journaled) and makes it the stage in progress.
  func announce(_ stage: MigrationStage, figures: StageFigures = StageFigures()) {
    let now = engine.clock.uptime()
    begun.log.withLock {
      $0.begun.append(stage)
      $0.beganAt[stage] = now
    }
    emit(.stageStarted, stage: stage, figures: figures)
  }

  /// Journals and reports how `stage` ended.
  func end(
    _ stage: MigrationStage, _ outcome: StageOutcome, figures: StageFigures = StageFigures(), error: String? = nil
  ) async {
    await journalOutcome(stage, outcome, figures: figures, error: error)
    let now = engine.clock.uptime()
    begun.log.withLock {
      $0.ended.insert(stage)
      $0.endedAt[stage] = now
    }
    emit(.stageEnded, stage: stage, stageOutcome: outcome, figures: figures, message: error)
  }

  /// Journals how `stage` ended without reporting it (a stage journaled ahead and never begun).
  func journalOutcome(
    _ stage: MigrationStage, _ outcome: StageOutcome, figures: StageFigures = StageFigures(), error: String? = nil
  ) async {
    guard let moveID else { return }
    do {
      try await engine.journal.stageOutcome(
        move: moveID, stage: stage, outcome: outcome, at: engine.clock.now(), figures: figures, error: error)
    } catch {
      if let fenced = error as? JournalFenced { engine.fence(fenced) }
      engine.logger.error(
        "journal: cannot record a stage outcome",
        metadata: ["vm": "\(move.vm)", "stage": "\(stage.rawValue)", "error": "\(error)"])
    }
  }

  func result(
    _ outcome: MoveOutcome, reason: String? = nil, failedStage: MigrationStage? = nil, measured: MeasuredCost? = nil,
    observation: MigrationObservation? = nil
  ) -> MoveResult {
    MoveResult(
      index: index, move: move, outcome: outcome, reason: reason, failedStage: failedStage, measured: measured,
      startedAt: startedAt - planStart, endedAt: elapsed, observation: observation)
  }

  /// A transfer of this move over the links begins now (for ``TransferSharing``).
  func transferBegins(_ accepted: PreflightResult) {
    guard let source = accepted.source, let destination = accepted.destination else { return }
    let now = engine.clock.uptime()
    engine.shared.withLock {
      $0.sharing.begin(token, from: source, to: destination, cap: engine.policy.bandwidthCap?.bytesPerSecond, at: now)
    }
  }

  /// The transfer of this move ended now: its average share of the links (1: alone).
  func transferEnds() -> Double {
    let now = engine.clock.uptime()
    return engine.shared.withLock { $0.sharing.end(token, at: now) } ?? 1
  }

  /// The result of a move this process stopped running because its lease was taken over: the
  /// process that holds the lease now settles it (its reconcile asks the hypervisors).
  func fencedOut(_ fenced: JournalFenced, at stage: MigrationStage) -> MoveResult {
    result(
      .needsAttention,
      reason: "another process took the migration lease of cluster \(fenced.cluster) over; this process stopped "
        + "before stage \(stage.rawValue) without touching VM \(move.vm) again, and the lease's holder reconciles "
        + "the move (\(fenced.detail))",
      failedStage: stage)
  }

  /// The result of a move stopped before it changed anything: skipped when nothing was tried
  /// (not possible, cancelled, not journaled), rolled back when a step failed.
  func nothingChanged(_ stop: Interruption) -> MoveResult {
    switch stop.cause {
    case .notPossible: result(.skipped, reason: "not possible — \(stop.reason)")
    case .cancelled: result(.skipped, reason: "cancelled before anything changed")
    case .unjournaled: result(.skipped, reason: "\(stop.reason); nothing changed")
    case .failed: result(.rolledBack, reason: stop.reason, failedStage: stop.failedStage)
    }
  }

  /// The step of stage 0: the shared checks against the driver's inventory
  /// (``PreflightCheck``), then the driver's own (``Driver/additionalChecks(_:vm:destination:)``).
  /// On success the destination capacity is held. Throws ``NotPossible`` for a move
  /// that cannot run now, ``StepFailure`` when the driver cannot answer.
  func check() async throws -> PreflightResult {
    let cluster: Cluster
    let placements: [VMPlacement]
    do {
      cluster = try await engine.driver.inventory()
      placements = try await engine.driver.locate(vm: move.vm)
    } catch {
      throw StepFailure("stage 0 failed: \(error)")
    }
    let checked = engine.shared.withLock { state in
      let held = state.holds.filter { $0.key != token }.map(\.value)
      let checked = PreflightCheck.check(
        move, cluster: cluster, placements: placements, policy: engine.policy, held: held)
      if case .success(let accepted) = checked { state.holds[token] = accepted.hold }
      return checked
    }
    let accepted: PreflightResult
    switch checked {
    case .success(let result): accepted = result
    case .failure(let notPossible): throw notPossible
    }
    // The driver's own checks, after the shared ones.
    let verdict: NotPossible?
    do {
      verdict = try await engine.driverChecks(move, vm: accepted.vm, cluster: cluster)
    } catch {
      releaseHold()
      throw StepFailure("stage 0 failed: \(error)")
    }
    if let verdict {
      releaseHold()
      throw verdict
    }
    return accepted
  }

  /// Gives back the destination capacity this move held.
  func releaseHold() {
    _ = engine.shared.withLock { $0.holds.removeValue(forKey: token) }
  }
}

/// The stages of one move begun and ended so far, shared by the copies of its ``MoveRun``.
final class BegunStages: Sendable {
  struct Log {
    /// In the order they began.
    var begun: [MigrationStage] = []
    var ended: Set<MigrationStage> = []
    /// When each began and ended (`clock.uptime()`).
    var beganAt: [MigrationStage: Double] = [:]
    var endedAt: [MigrationStage: Double] = [:]
  }
  let log = Mutex(Log())
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

/// A failed step, already worded for the move's reason (e.g. `shutdown failed: …`).
struct StepFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// A cancellation reached a move at a point where it stops (before a stage, or before a
/// shutdown).
struct CancelledMove: Error, CustomStringConvertible {
  let description: String
  init(_ description: String = "cancelled") { self.description = description }
}
