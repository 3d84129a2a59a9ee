import BallastModel

/// Dispatches a running plan's moves: decides which start next, in plan order, when their
/// dependencies completed and their hosts and the cluster have free slots, and which are
/// skipped. Pure bookkeeping, no I/O. (The planner's `PredictedTimeline` predicts the same
/// before anything runs.)
struct MoveDispatcher {
  let moves: [PlannedMove]
  let perHost: Int
  let perCluster: Int
  /// Moves neither started nor skipped, in plan order.
  private(set) var pending: [Int]
  private(set) var running: Set<Int> = []
  private(set) var hostLoad: [String: Int] = [:]
  private var runningVMs: Set<String> = []
  private(set) var outcomes: [Int: MoveOutcome] = [:]

  init(moves: [PlannedMove], concurrency: Concurrency) {
    self.moves = moves
    self.perHost = max(concurrency.perHost, 1)
    self.perCluster = max(concurrency.cluster, 1)
    self.pending = Array(moves.indices)
  }

  /// Moves to start now and moves to skip now (with why). Started moves count as running.
  mutating func next(cancelled: Bool) -> (start: [Int], skip: [(index: Int, reason: String)]) {
    var start: [Int] = []
    var skip: [(index: Int, reason: String)] = []
    var stillPending: [Int] = []
    for i in pending {
      let move = moves[i]
      if cancelled {
        skip.append((i, "cancelled before it started"))
        continue
      }
      if let reason = dependencyFailure(i) {
        skip.append((i, reason))
        continue
      }
      let ready = move.dependsOn.allSatisfy { outcomes[$0] == .completed }
      let hosts = Set([move.from, move.to])
      let fits =
        running.count < perCluster && !runningVMs.contains(move.vm)
        && hosts.allSatisfy { hostLoad[$0, default: 0] < perHost }
      if ready && fits {
        start.append(i)
        running.insert(i)
        runningVMs.insert(move.vm)
        for host in hosts { hostLoad[host, default: 0] += 1 }
      } else {
        stillPending.append(i)
      }
    }
    pending = stillPending
    if running.isEmpty && start.isEmpty && !pending.isEmpty {
      // Nothing runs and nothing can start: the rest wait on each other.
      skip += pending.map { ($0, "its dependencies can never complete (they wait on each other)") }
      pending = []
    }
    for (i, _) in skip { outcomes[i] = .skipped }
    return (start, skip)
  }

  /// Records that move `index` ended.
  mutating func finished(_ index: Int, outcome: MoveOutcome) {
    guard running.remove(index) != nil else { return }
    let move = moves[index]
    runningVMs.remove(move.vm)
    for host in Set([move.from, move.to]) { hostLoad[host, default: 1] -= 1 }
    outcomes[index] = outcome
  }

  private func dependencyFailure(_ i: Int) -> String? {
    for dependency in moves[i].dependsOn {
      guard dependency >= 0, dependency < moves.count, dependency != i else {
        return "it depends on move #\(dependency), which is not in the plan"
      }
      if let outcome = outcomes[dependency], outcome != .completed {
        let other = moves[dependency]
        return "it needs move #\(dependency) (\(other.vm) \(other.from) → \(other.to)) first, which ended "
          + "\(outcome.rawValue)"
      }
    }
    return nil
  }
}
