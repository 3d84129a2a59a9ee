import BallastEngine
import BallastModel
import BallastTestSupport
import Foundation
import Synchronization

@testable import BallastHistory

/// A store on a new database in a temporary directory.
func withStore<T>(clock: HistoryClock = .system, _ body: (HistoryStore, URL) async throws -> T) async throws -> T {
  try await withTemporaryDirectory { directory in
    let store = try HistoryStore(path: directory.appendingPathComponent("ballast.sqlite").path, clock: clock)
    return try await body(store, directory)
  }
}

/// A clock tests move by hand.
final class ManualClock: Sendable {
  private let time: Mutex<Double>

  init(_ start: Double = 1_767_225_600) { time = Mutex(start) }

  var now: Double { time.withLock { $0 } }
  func advance(_ seconds: Double) { time.withLock { $0 += seconds } }

  var historyClock: HistoryClock { HistoryClock { [self] in now } }
}

func liveMove(_ vm: String, from: String, to: String, seconds: Double = 12, downtimeMs: Double = 80) -> PlannedMove {
  PlannedMove(
    vm: vm, from: from, to: to, kind: .live, reason: "\(from) is the hottest host",
    score: [ScoreTerm(name: "balance", weight: 1, value: 0.3)],
    predicted: PredictedCost(seconds: seconds, downtimeMs: downtimeMs, bytes: 4.2e9, rounds: 4, converges: true),
    plannedStartSeconds: 0)
}

func coldMove(_ vm: String, from: String, to: String, requiresShutdown: Bool = false) -> PlannedMove {
  PlannedMove(
    vm: vm, from: from, to: to, kind: .cold, reason: "drain \(from)",
    predicted: PredictedCost(seconds: 40, downtimeMs: 40_000, bytes: 2.5e10, rounds: 0, converges: true),
    requiresShutdown: requiresShutdown,
    disksToCopy: [Disk(datastore: "local-\(from)", size: ByteCount(21_474_836_481), path: "\(vm).qcow2")],
    dependsOn: [0], plannedStartSeconds: 5)
}

func plan(
  _ moves: [PlannedMove], cluster: String = "lab", trigger: PlanTrigger = .balance, before: Double = 0.3,
  after: Double = 0.1
) -> MigrationPlan {
  MigrationPlan(
    trigger: trigger, cluster: cluster, policy: "balanced", moves: moves,
    rejected: [Rejection(vm: "db1", host: "h3", check: .driver("cpuModel"), reason: "h3 lacks avx512f")],
    before: ClusterView(
      imbalance: before,
      hosts: [HostView(name: "h1", cpu: 0.9, memory: 0.7, state: .active)]),
    after: ClusterView(
      imbalance: after,
      hosts: [HostView(name: "h1", cpu: 0.5, memory: 0.5, state: .active)]),
    predictedMakespanSeconds: 30)
}

/// Runs a whole move through the journal as the engine would: every stage's intent, then its
/// outcome, then the move's end.
@discardableResult
func journalMove(
  _ store: HistoryStore, plan planID: PlanID, index: Int, _ move: PlannedMove, at start: Double,
  outcome: MoveOutcome = .completed
) async throws -> MoveID {
  let id = try await store.moveStarted(plan: planID, index: index, move: move, at: start)
  var t = start
  for stage in MigrationStage.stages(for: move.kind) {
    try await store.stageIntent(move: id, stage: stage, at: t)
    t += 1
    try await store.stageOutcome(
      move: id, stage: stage, outcome: .succeeded, at: t, figures: StageFigures(note: stage.rawValue), error: nil)
  }
  try await store.moveFinished(
    move: id, outcome: outcome, measured: MeasuredCost(seconds: t - start, downtimeMs: 90, bytes: 4.4e9, rounds: 5),
    at: t, detail: nil)
  return id
}
