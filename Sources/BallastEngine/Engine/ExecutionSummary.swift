import BallastModel

/// How one move of a plan ended.
public struct MoveResult: Sendable, Hashable, Codable {
  /// Position in the plan.
  public var index: Int
  public var move: PlannedMove
  public var outcome: MoveOutcome
  /// Why it was skipped, failed or needs attention.
  public var reason: String?
  /// The stage that failed, if one did.
  public var failedStage: MigrationStage?
  /// What it measured (completed moves).
  public var measured: MeasuredCost?
  /// Seconds since the plan started.
  public var startedAt: Double?
  public var endedAt: Double?
  /// What a completed move showed about the cost model's inputs (the learner's input).
  public var observation: MigrationObservation?

  public init(
    index: Int, move: PlannedMove, outcome: MoveOutcome, reason: String? = nil, failedStage: MigrationStage? = nil,
    measured: MeasuredCost? = nil, startedAt: Double? = nil, endedAt: Double? = nil,
    observation: MigrationObservation? = nil
  ) {
    self.index = index
    self.move = move
    self.outcome = outcome
    self.reason = reason
    self.failedStage = failedStage
    self.measured = measured
    self.startedAt = startedAt
    self.endedAt = endedAt
    self.observation = observation
  }
}

/// What executing a plan did.
public struct ExecutionSummary: Sendable, Hashable, Codable {
  /// One result per move, in plan order.
  public var results: [MoveResult]
  /// Seconds from the plan's start to the end of its last move.
  public var makespanSeconds: Double
  /// A lower bound of the makespan of the completed moves (see ``MakespanBound``).
  public var lowerBoundSeconds: Double
  /// Whether the run was cancelled.
  public var cancelled: Bool

  public init(results: [MoveResult], makespanSeconds: Double, lowerBoundSeconds: Double, cancelled: Bool) {
    self.results = results
    self.makespanSeconds = makespanSeconds
    self.lowerBoundSeconds = lowerBoundSeconds
    self.cancelled = cancelled
  }

  public var done: Int { count(.completed) }
  public var skipped: Int { count(.skipped) }
  /// Moves that failed and were rolled back (the VM is untouched on its source).
  public var failed: Int { count(.rolledBack) }
  public var needsAttention: Int { count(.needsAttention) }

  /// Downtime of every completed move, summed.
  public var totalDowntimeMs: Double { results.compactMap(\.measured?.downtimeMs).reduce(0, +) }
  public var maxDowntimeMs: Double { results.compactMap(\.measured?.downtimeMs).max() ?? 0 }
  /// Bytes sent by completed moves.
  public var bytesMoved: Double { results.compactMap(\.measured?.bytes).reduce(0, +) }

  private func count(_ outcome: MoveOutcome) -> Int { results.count { $0.outcome == outcome } }
}
