import BallastModel

/// A journal kept in memory, for tests and for runs without a database.
public actor InMemoryJournal: MigrationJournal {
  /// One line of the journal, in the order written.
  public enum Entry: Sendable, Hashable {
    case plan(PlanID, dryRun: Bool)
    case moveStarted(MoveID, vm: String)
    case intent(MoveID, MigrationStage)
    case outcome(MoveID, MigrationStage, StageOutcome)
    case moveFinished(MoveID, MoveOutcome)
    case planFinished(PlanID)
  }

  public private(set) var entries: [Entry] = []
  private var moves: [MoveID: (plan: PlanID, move: PlannedMove)] = [:]
  private var planClusters: [PlanID: String] = [:]
  private var finished: Set<MoveID> = []
  private var lastStage: [MoveID: (MigrationStage, Bool)] = [:]
  private var nextID: Int64 = 1
  private var estimates: [String: LearnedEstimates] = [:]
  /// Observations recorded, in order.
  public private(set) var observations: [MigrationObservation] = []

  public init() {}

  public func recordObservation(
    _ observation: MigrationObservation, move: MoveID, learn: Bool, settings: LearningSettings
  ) {
    observations.append(observation)
    guard learn, let plan = moves[move]?.plan, let cluster = planClusters[plan] else { return }
    var learned = estimates[cluster] ?? .empty
    learned.learn(from: observation, settings: settings)
    estimates[cluster] = learned
  }

  public func learnedEstimates(cluster: String) -> LearnedEstimates { estimates[cluster] ?? .empty }

  public func recordPlan(_ plan: MigrationPlan, dryRun: Bool, at: Double) -> PlanID {
    let id = takeID()
    planClusters[id] = plan.cluster
    entries.append(.plan(id, dryRun: dryRun))
    return id
  }

  public func moveStarted(plan: PlanID, index: Int, move: PlannedMove, at: Double) -> MoveID {
    let id = takeID()
    moves[id] = (plan, move)
    entries.append(.moveStarted(id, vm: move.vm))
    return id
  }

  public func stageIntent(move: MoveID, stage: MigrationStage, at: Double) {
    lastStage[move] = (stage, false)
    entries.append(.intent(move, stage))
  }

  public func stageOutcome(
    move: MoveID, stage: MigrationStage, outcome: StageOutcome, at: Double, figures: StageFigures, error: String?
  ) {
    if lastStage[move]?.0 == stage { lastStage[move] = (stage, outcome == .succeeded) }
    entries.append(.outcome(move, stage, outcome))
  }

  public func moveFinished(move: MoveID, outcome: MoveOutcome, measured: MeasuredCost?, at: Double, detail: String?) {
    finished.insert(move)
    entries.append(.moveFinished(move, outcome))
  }

  public func planFinished(plan: PlanID, measuredImbalanceAfter: Double?, at: Double) {
    entries.append(.planFinished(plan))
  }

  /// Moves started and not finished, of plans for `cluster` (every cluster when `nil`).
  public func unfinishedMoves(cluster: String? = nil) -> [UnfinishedMove] {
    moves.keys.sorted().filter { !finished.contains($0) }.compactMap { id in
      guard let entry = moves[id] else { return nil }
      if let cluster, planClusters[entry.plan] != cluster { return nil }
      let last = lastStage[id]
      return UnfinishedMove(
        id: id, plan: entry.plan, move: entry.move, lastStage: last?.0, lastStageSucceeded: last?.1 ?? false)
    }
  }

  private func takeID() -> Int64 {
    defer { nextID += 1 }
    return nextID
  }
}
