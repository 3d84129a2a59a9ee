import BallastModel

/// Identifies a recorded plan (a run).
public typealias PlanID = Int64
/// Identifies a recorded move.
public typealias MoveID = Int64

/// Where the engine writes what it is about to do, and what happened.
///
/// The engine calls ``stageIntent(move:stage:at:)`` **before** a stage's irreversible step
/// and ``stageOutcome(move:stage:outcome:at:figures:error:)`` after it, so after a crash
/// ``unfinishedMoves(cluster:)`` tells `reconcile` exactly which VMs were in flight and how far
/// each got. Times are seconds since the Unix epoch on the engine's clock (virtual when simulated).
public protocol MigrationJournal: Sendable {
  /// Records a plan as it starts (or a dry run, which then has no moves started).
  func recordPlan(_ plan: MigrationPlan, dryRun: Bool, at: Double) async throws -> PlanID
  /// Records that move number `index` of `plan` starts.
  func moveStarted(plan: PlanID, index: Int, move: PlannedMove, at: Double) async throws -> MoveID
  /// Records that `stage` of `move` is about to do its work.
  func stageIntent(move: MoveID, stage: MigrationStage, at: Double) async throws
  /// Records how `stage` of `move` ended.
  func stageOutcome(
    move: MoveID, stage: MigrationStage, outcome: StageOutcome, at: Double, figures: StageFigures,
    error: String?) async throws
  /// Records how `move` ended and what it measured.
  func moveFinished(
    move: MoveID, outcome: MoveOutcome, measured: MeasuredCost?, at: Double, detail: String?)
    async throws
  /// Records that `plan` ended, with the imbalance measured afterwards.
  func planFinished(plan: PlanID, measuredImbalanceAfter: Double?, at: Double) async throws
  /// Moves that started and never finished, with the last stage each reached, oldest first:
  /// those of plans for `cluster` only, or of every cluster when it is `nil`.
  func unfinishedMoves(cluster: String?) async throws -> [UnfinishedMove]
  /// Records what completed `move` showed about the cost model's inputs and, when `learn`,
  /// updates the learned estimates of its VM and host pair (``CostLearner``) with `settings`.
  func recordObservation(
    _ observation: MigrationObservation, move: MoveID, learn: Bool, settings: LearningSettings) async throws
  /// What completed migrations taught about `cluster`'s VMs and links.
  func learnedEstimates(cluster: String) async throws -> LearnedEstimates
}

/// A move the journal shows as started but not finished (its process died).
public struct UnfinishedMove: Sendable, Hashable, Codable {
  public var id: MoveID
  public var plan: PlanID
  public var move: PlannedMove
  /// The last stage whose intent was written, if any.
  public var lastStage: MigrationStage?
  /// Whether that stage's outcome was written as succeeded.
  public var lastStageSucceeded: Bool

  public init(id: MoveID, plan: PlanID, move: PlannedMove, lastStage: MigrationStage?, lastStageSucceeded: Bool) {
    self.id = id
    self.plan = plan
    self.move = move
    self.lastStage = lastStage
    self.lastStageSucceeded = lastStageSucceeded
  }

  /// Whether the source copy had been given up: commitment reached (its intent written).
  public var pastCommitment: Bool {
    guard let stage = lastStage else { return false }
    return stage.number > 4 || (stage.number == 4 && lastStageSucceeded)
  }
}
