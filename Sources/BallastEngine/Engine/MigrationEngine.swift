import BallastModel
import Logging
import Synchronization

/// Tunables of the engine that are not policy.
public struct EngineOptions: Sendable, Hashable {
  /// Attempts at steps that must not be given up lightly (activation, start, rollback steps),
  /// while they fail with a transient ``DriverError``.
  public var attempts: Int = 3
  /// Wait before the second attempt; doubled before each further one.
  public var retryDelaySeconds: Double = 2
  /// How long a guest may take to shut down cleanly before it is forced off.
  public var shutdownTimeout: TimeSpan = .minutes(2)

  public init() {}
}

/// The one migration engine: runs plans move by move through the stages of docs/ARCHITECTURE.md, within
/// the policy's concurrency limits, journaling each stage before its irreversible step.
///
/// Guarantees: a move that fails before commitment leaves the VM running (or off, if it was
/// off) on its source and releases what it reserved; a move that fails after commitment is
/// completed or reported as ``MoveOutcome/needsAttention`` with where the VM is. A move whose
/// stage-0 check fails against the current inventory is skipped with the reason, not failed.
public final class MigrationEngine: Sendable {
  public let driver: any Driver
  public let journal: any MigrationJournal
  public let clock: any EngineClock
  public let policy: Policy
  public let options: EngineOptions
  let logger: Logger
  let observer: EngineObserver
  let shared = Mutex(Shared())

  struct Shared {
    var cancelRequested = false
    /// A forced stop: moves in flight abort where it is safe, whatever the policy's `onCancel`.
    var forceRequested = false
    /// Capacity held on destinations by moves in flight, by move token.
    var holds: [Int: CapacityHold] = [:]
    /// Live transfers before commitment, by move token: what cancellation aborts.
    var transfers: [Int: Reservation] = [:]
    /// VMs with a move in flight, in any run on this engine.
    var moving: Set<String> = []
    var nextToken = 0
  }

  public init(
    driver: any Driver, journal: any MigrationJournal, clock: any EngineClock, policy: Policy,
    options: EngineOptions = EngineOptions(),
    logger: Logger = Logger(label: "ballast.engine", factory: { _ in SwiftLogNoOpLogHandler() }),
    observer: @escaping EngineObserver = { _ in }
  ) {
    self.driver = driver
    self.journal = journal
    self.clock = clock
    self.policy = policy
    self.options = options
    self.logger = logger
    self.observer = observer
  }

  /// A simulated engine: `driver`'s virtual clock, an in-memory journal unless one is given.
  public convenience init(
    simulated driver: SimulatedDriver, journal: any MigrationJournal = InMemoryJournal(), policy: Policy,
    options: EngineOptions = EngineOptions(),
    logger: Logger = Logger(label: "ballast.engine", factory: { _ in SwiftLogNoOpLogHandler() }),
    observer: @escaping EngineObserver = { _ in }
  ) {
    self.init(
      driver: driver, journal: journal, clock: driver.clock, policy: policy, options: options, logger: logger,
      observer: observer)
  }

  // MARK: Cancellation

  /// Stops the run: no new move starts; moves in flight finish, or abort where it is safe
  /// (before commitment) when the policy's `onCancel` is `abort`.
  ///
  /// With `force` (an operator insisting: a second Ctrl-C or SIGTERM), moves in flight abort
  /// where it is safe whatever `onCancel` says, so the run ends promptly; each rollback is
  /// journaled as usual, and a move past commitment still completes its activation.
  public func cancel(force: Bool = false) {
    let inFlight: [Reservation] = shared.withLock { state in
      let aborting = policy.onCancel == .abort || state.forceRequested
      let startsAborting = !(state.cancelRequested && aborting) && (force || policy.onCancel == .abort)
      state.cancelRequested = true
      if force { state.forceRequested = true }
      return startsAborting ? state.transfers.sorted { $0.key < $1.key }.map(\.value) : []
    }
    for reservation in inFlight { abortTransfer(reservation) }
  }

  /// Capacity held on destinations by moves in flight (empty when nothing runs).
  public var heldCapacity: [CapacityHold] { shared.withLock { $0.holds.sorted { $0.key < $1.key }.map(\.value) } }

  /// Whether ``cancel()`` was called (or the executing task was cancelled).
  public var isCancelled: Bool { shared.withLock { $0.cancelRequested } }

  /// Whether a move in flight must stop at its next safe point.
  var mustAbort: Bool {
    shared.withLock { $0.cancelRequested && (policy.onCancel == .abort || $0.forceRequested) }
  }

  /// Asks the driver to stop a transfer and resume the VM on its source, without waiting.
  func abortTransfer(_ reservation: Reservation) {
    clock.join()
    let driver = self.driver
    let clock = self.clock
    Task {
      try? await driver.resumeOnSource(reservation)
      clock.leave()
    }
  }

  // MARK: Plans

  /// Executes `plan` and returns what happened to each move. Cancelling the calling task
  /// has the effect of ``cancel()``.
  public func execute(_ plan: MigrationPlan) async -> ExecutionSummary {
    await withTaskCancellationHandler {
      await run(plan)
    } onCancel: {
      self.cancel()
    }
  }

  /// Stage 0 of `move` alone, against the current inventory: the shared checks, then the
  /// driver's own. What a dry run shows.
  public func check(_ move: PlannedMove) async -> Result<PreflightResult, NotPossible> {
    do {
      let cluster = try await driver.inventory()
      let placements = try await driver.locate(vm: move.vm)
      let held = shared.withLock { Array($0.holds.values) }
      let checked = PreflightCheck.check(move, cluster: cluster, placements: placements, policy: policy, held: held)
      guard case .success(let accepted) = checked else { return checked }
      if let notPossible = try await driverChecks(move, vm: accepted.vm, cluster: cluster) {
        return .failure(notPossible)
      }
      return checked
    } catch {
      return .failure(NotPossible(check: .driverUnavailable, reason: "\(error)"))
    }
  }

  /// The driver's own stage-0 checks of `move` (``Driver/additionalChecks(_:vm:destination:)``),
  /// once the shared ones passed against `cluster`.
  func driverChecks(_ move: PlannedMove, vm: VM, cluster: Cluster) async throws -> NotPossible? {
    guard let destination = cluster.host(named: move.to) else { return nil }  // the shared checks refuse it
    return try await driver.additionalChecks(move, vm: vm, destination: destination)
  }

  /// Records `plan` as a dry run in the journal (nothing moves).
  public func recordDryRun(_ plan: MigrationPlan) async throws {
    let now = clock.now()
    let id = try await journal.recordPlan(plan, dryRun: true, at: now)
    try await journal.planFinished(plan: id, measuredImbalanceAfter: nil, at: now)
  }

  private func run(_ plan: MigrationPlan) async -> ExecutionSummary {
    clock.join()  // hold the clock while the first moves are set up
    let start = clock.uptime()
    let before = try? await driver.inventory()
    var results: [MoveResult?] = Array(repeating: nil, count: plan.moves.count)
    let planID: PlanID
    do {
      planID = try await journal.recordPlan(plan, dryRun: false, at: clock.now())
    } catch {
      clock.leave()
      return skipAll(plan, reason: "the journal cannot record the plan (\(error)); nothing was moved", start: start)
    }
    var dispatcher = MoveDispatcher(moves: plan.moves, concurrency: policy.concurrency)
    if let refusal = plan.refusal {
      for i in plan.moves.indices {
        results[i] = await skip(
          i, plan.moves[i], plan: planID, reason: "the plan was refused: \(refusal)", start: start)
      }
      dispatcher = MoveDispatcher(moves: [], concurrency: policy.concurrency)
    }
    await withTaskGroup(of: MoveResult.self) { group in
      while true {
        let (starting, skipping) = dispatcher.next(cancelled: isCancelled || Task.isCancelled)
        for (i, reason) in skipping {
          results[i] = await skip(i, plan.moves[i], plan: planID, reason: reason, start: start)
        }
        for i in starting {
          clock.join()  // the move holds the clock until its result is handled below
          let move = plan.moves[i]
          group.addTask {
            // An unstructured task: cancelling the run must not cancel a migration in flight.
            await Task { await self.runMove(i, move, plan: planID, planStart: start) }.value
          }
        }
        clock.leave()  // the hold of the setup, or of the move whose result was just handled
        guard let result = await group.next() else { break }
        results[result.index] = result
        dispatcher.finished(result.index, outcome: result.outcome)
      }
    }
    let end = clock.now()
    let after = try? await driver.inventory()
    try? await journal.planFinished(
      plan: planID, measuredImbalanceAfter: after.map { Imbalance.of($0, weights: policy.weights) }, at: end)
    let final = results.enumerated().map { i, result in
      result ?? MoveResult(index: i, move: plan.moves[i], outcome: .skipped, reason: "not run")
    }
    return ExecutionSummary(
      results: final, makespanSeconds: final.compactMap(\.endedAt).max() ?? 0,
      lowerBoundSeconds: lowerBound(final, cluster: before), cancelled: isCancelled)
  }

  /// The makespan bound of the moves that completed, on the cluster as it was at the start.
  private func lowerBound(_ results: [MoveResult], cluster: Cluster?) -> Double {
    guard let cluster else { return 0 }
    let completed = results.filter { $0.outcome == .completed }
    var position: [Int: Int] = [:]
    for (i, result) in completed.enumerated() { position[result.index] = i }
    let moves = completed.map { result in
      var move = result.move
      move.dependsOn = move.dependsOn.compactMap { position[$0] }
      return move
    }
    return MakespanBound.compute(moves: moves, cluster: cluster, policy: policy).seconds
  }

  private func skipAll(_ plan: MigrationPlan, reason: String, start: Double) -> ExecutionSummary {
    let results = plan.moves.enumerated().map { i, move in
      emit(
        EngineEvent(
          type: .moveSkipped, move: i, vm: move.vm, from: move.from, to: move.to, kind: move.kind,
          moveOutcome: .skipped,
          at: clock.uptime() - start, time: clock.now(), message: reason))
      return MoveResult(index: i, move: move, outcome: .skipped, reason: reason)
    }
    return ExecutionSummary(results: results, makespanSeconds: 0, lowerBoundSeconds: 0, cancelled: isCancelled)
  }

  /// Records and reports a move that never started.
  private func skip(_ i: Int, _ move: PlannedMove, plan: PlanID, reason: String, start: Double) async -> MoveResult {
    let now = clock.now()
    let at = clock.uptime() - start
    do {
      let id = try await journal.moveStarted(plan: plan, index: i, move: move, at: now)
      try await journal.moveFinished(move: id, outcome: .skipped, measured: nil, at: now, detail: reason)
    } catch {
      logger.error("journal: cannot record skipped move", metadata: ["vm": "\(move.vm)", "error": "\(error)"])
    }
    emit(
      EngineEvent(
        type: .moveSkipped, move: i, vm: move.vm, from: move.from, to: move.to, kind: move.kind, moveOutcome: .skipped,
        at: at, time: now, message: reason))
    logger.info("move skipped", metadata: ["vm": "\(move.vm)", "reason": "\(reason)"])
    return MoveResult(index: i, move: move, outcome: .skipped, reason: reason, endedAt: at)
  }

  func emit(_ event: EngineEvent) { observer(event) }

  // MARK: One move

  private func runMove(_ index: Int, _ move: PlannedMove, plan: PlanID, planStart: Double) async -> MoveResult {
    let claimed: Int? = shared.withLock { state in
      guard state.moving.insert(move.vm).inserted else { return nil }
      state.nextToken += 1
      return state.nextToken
    }
    guard let token = claimed else {
      return await skip(
        index, move, plan: plan, reason: "VM \(move.vm) is being moved by another run right now", start: planStart)
    }
    defer {
      shared.withLock { state in
        state.holds[token] = nil
        state.transfers[token] = nil
        state.moving.remove(move.vm)
      }
    }
    let moveID: MoveID
    do {
      moveID = try await journal.moveStarted(plan: plan, index: index, move: move, at: clock.now())
    } catch {
      let run = MoveRun(engine: self, index: index, move: move, moveID: nil, token: token, planStart: planStart)
      run.emit(.moveStarted)
      let result = run.result(.skipped, reason: "the journal cannot record the move (\(error)); it did not start")
      run.emit(.moveEnded, moveOutcome: .skipped, message: result.reason)
      return result
    }
    let run = MoveRun(engine: self, index: index, move: move, moveID: moveID, token: token, planStart: planStart)
    run.emit(.moveStarted, message: move.reason)
    let result =
      switch move.kind {
      case .live: await runLive(run)
      case .cold: await runCold(run)
      }
    do {
      try await journal.moveFinished(
        move: moveID, outcome: result.outcome, measured: result.measured, at: clock.now(), detail: result.reason)
    } catch {
      logger.error("journal: cannot record the end of a move", metadata: ["vm": "\(move.vm)", "error": "\(error)"])
    }
    var figures = StageFigures()
    if let measured = result.measured {
      figures.bytesSent = measured.bytes
      figures.downtimeMs = measured.downtimeMs
      figures.round = measured.rounds
    }
    run.emit(.moveEnded, moveOutcome: result.outcome, figures: figures, message: result.reason)
    let metadata: Logger.Metadata = [
      "vm": "\(move.vm)", "from": "\(move.from)", "to": "\(move.to)", "kind": "\(move.kind.rawValue)",
      "outcome": "\(result.outcome.rawValue)",
    ]
    switch result.outcome {
    case .completed, .skipped: logger.info("move ended", metadata: metadata)
    case .rolledBack: logger.warning("move failed: \(result.reason ?? "")", metadata: metadata)
    case .needsAttention: logger.error("move needs attention: \(result.reason ?? "")", metadata: metadata)
    }
    return result
  }

  /// Runs `operation` until it succeeds (`nil`), up to `options.attempts` times while it fails
  /// with what can succeed on a second try (a ``DriverError`` of kind
  /// ``DriverError/Kind/transient``); any other error ends it at once. Returns how it failed.
  func retrying(_ operation: () async throws -> Void) async -> RetryFailure? {
    var delay = options.retryDelaySeconds
    let attempts = max(options.attempts, 1)
    for attempt in 1...attempts {
      do {
        try await operation()
        return nil
      } catch {
        guard attempt < attempts, Self.mayRetry(error) else { return RetryFailure(error: error, attempts: attempt) }
        await clock.sleep(seconds: delay)
        delay *= 2
      }
    }
    return nil  // not reached: the last attempt returns above
  }

  /// Whether trying `error`'s operation again may succeed.
  static func mayRetry(_ error: any Error) -> Bool {
    (error as? DriverError)?.kind.isRetryable ?? false
  }
}

/// How an operation ``MigrationEngine/retrying(_:)`` ran failed: its last error, after how many attempts.
struct RetryFailure: Error, CustomStringConvertible {
  let error: any Error
  let attempts: Int

  /// The error, with the number of attempts when there was more than one.
  var description: String { attempts > 1 ? "\(attempts) attempts, the last: \(error)" : "\(error)" }
}
