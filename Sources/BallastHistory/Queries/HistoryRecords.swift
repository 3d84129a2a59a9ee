import BallastEngine
import BallastModel

/// One recorded move, as `ballast history` lists it.
public struct MigrationRecord: Sendable, Hashable, Codable {
  public var id: MoveID
  public var plan: PlanID
  public var cluster: String
  public var trigger: PlanTrigger
  /// The plan was a dry run: the move was planned, never executed.
  public var dryRun: Bool
  /// Position of the move in its plan.
  public var index: Int
  public var vm: String
  public var from: String
  public var to: String
  public var kind: MigrationKind
  public var reason: String
  public var requiresShutdown: Bool
  public var predicted: PredictedCost
  /// What was measured, once the move has ended with measurements.
  public var measured: MeasuredCost?
  /// How the move ended; `nil` while planned or in flight.
  public var outcome: MoveOutcome?
  public var detail: String?
  /// `nil` when the move was only planned.
  public var startedAt: Double?
  public var endedAt: Double?
  /// The last stage whose intent was written.
  public var lastStage: MigrationStage?
  /// The error of the last stage that recorded one.
  public var lastError: String?

  /// `planned`, `in flight`, or the outcome.
  public var status: String {
    if let outcome { return outcome.rawValue }
    return startedAt == nil ? "planned" : "inFlight"
  }
}

/// One stage attempt of a move.
public struct StageRecord: Sendable, Hashable, Codable {
  public var id: Int64
  public var stage: MigrationStage
  public var number: Int
  /// When its intent was written; `nil` for an outcome recorded on its own (a rollback).
  public var intentAt: Double?
  public var endedAt: Double?
  public var outcome: StageOutcome?
  public var figures: StageFigures?
  public var error: String?
}

/// A move with all its stage attempts, in the order written.
public struct MigrationDetail: Sendable, Hashable, Codable {
  public var migration: MigrationRecord
  public var stages: [StageRecord]
}

/// One recorded plan, with its imbalance before, as predicted after, and as measured after.
public struct PlanRecord: Sendable, Hashable, Codable {
  public var id: PlanID
  public var createdAt: Double
  public var endedAt: Double?
  public var trigger: PlanTrigger
  public var policy: String
  public var cluster: String
  public var dryRun: Bool
  public var refusal: String?
  public var imbalanceBefore: Double
  public var imbalancePredictedAfter: Double
  public var imbalanceMeasuredAfter: Double?
  public var predictedMakespanSeconds: Double
  /// Moves in the plan.
  public var moves: Int
  /// Moves started, and of those how many completed and how many failed (rolled back or
  /// needing attention).
  public var started: Int
  public var completed: Int
  public var failed: Int
}

/// A plan with its before / after views, its rejections and its moves.
public struct PlanDetail: Sendable, Hashable, Codable {
  public var plan: PlanRecord
  public var hostsBefore: [HostView]
  public var hostsPredictedAfter: [HostView]
  public var rejected: [Rejection]
  public var moves: [MigrationRecord]
}

/// The last completed move of a VM: when it ended and the host it left (for cooldowns and
/// "never back to the host it left within the cooldown").
public struct LastMove: Sendable, Hashable, Codable {
  public var vm: String
  /// When the move ended.
  public var at: Double
  /// The host the VM left.
  public var from: String
  public var to: String
  public var move: MoveID
}

extension Dictionary where Key == String, Value == LastMove {
  /// The `[vm: (at, from)]` map the planner's cooldown check takes.
  public var cooldownMap: [String: (at: Double, from: String)] { mapValues { (at: $0.at, from: $0.from) } }
}
