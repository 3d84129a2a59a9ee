import BallastModel

/// Something the engine did, as it happens: what the CLI prints and what tests assert on.
///
/// Figures by event: `progress` (one per pre-copy round) has the round's index, bytes sent and
/// dirtied, what is still dirty (`remaining`), the measured rate and the throttle; `stageEnded`
/// of `preCopy` has the number of rounds and their bytes; `stageEnded` of `stopAndCopy` has the
/// rounds, every byte sent and the downtime; `stageEnded` of a cold `copy` has bytes, rate and
/// checksums; `moveEnded` of a completed move has what it measured.
public struct EngineEvent: Sendable, Hashable, Codable {
  /// What happened.
  public enum EventType: String, Sendable, Hashable, Codable, CaseIterable {
    /// A move took its concurrency slots and begins with stage 0.
    case moveStarted
    /// A stage begins (its intent is journaled).
    case stageStarted
    /// A pre-copy round ended (figures: round, bytes, remaining, rate).
    case progress
    /// A stage ended (`stageOutcome` says how).
    case stageEnded
    /// A started move ended (`moveOutcome` says how).
    case moveEnded
    /// A move that never started: cancelled, a dependency did not complete, the plan was refused.
    case moveSkipped
  }

  public var type: EventType
  /// Position of the move in the plan.
  public var move: Int
  public var vm: String
  public var from: String
  public var to: String
  public var kind: MigrationKind
  public var stage: MigrationStage?
  public var stageOutcome: StageOutcome?
  public var moveOutcome: MoveOutcome?
  /// Seconds since the plan started (virtual when simulated).
  public var at: Double
  /// Seconds since the Unix epoch on the engine's clock.
  public var time: Double
  public var figures: StageFigures
  /// Why (a skip, a failure, a note), in an operator's words.
  public var message: String?

  public init(
    type: EventType, move: Int, vm: String, from: String, to: String, kind: MigrationKind,
    stage: MigrationStage? = nil, stageOutcome: StageOutcome? = nil, moveOutcome: MoveOutcome? = nil, at: Double,
    time: Double, figures: StageFigures = StageFigures(), message: String? = nil
  ) {
    self.type = type
    self.move = move
    self.vm = vm
    self.from = from
    self.to = to
    self.kind = kind
    self.stage = stage
    self.stageOutcome = stageOutcome
    self.moveOutcome = moveOutcome
    self.at = at
    self.time = time
    self.figures = figures
    self.message = message
  }
}

/// Receives the engine's events in order. Called on the engine's tasks: keep it quick.
public typealias EngineObserver = @Sendable (EngineEvent) -> Void
