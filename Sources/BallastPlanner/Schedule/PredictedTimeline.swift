import BallastModel

/// The plan's predicted timeline: the order its moves should start in to finish soonest
/// within the concurrency limits, when each is predicted to start, and the makespan. (The
/// engine's dispatcher starts moves at run time as they really end.)
///
/// List scheduling, longest move first (LPT): whenever a migration ends, start every waiting
/// move, longest first, whose dependencies have finished and whose source and destination are
/// each in fewer than `perHost` migrations, while fewer than `cluster` run in all. A move
/// counts against both of its hosts. Ties are broken by VM name.
public struct PredictedTimeline: Sendable {
  public var perHost: Int
  public var cluster: Int

  public init(concurrency: Concurrency) {
    self.perHost = max(1, concurrency.perHost)
    self.cluster = max(1, concurrency.cluster)
  }

  /// The moves in start order with `plannedStartSeconds` set and `dependsOn` renumbered to
  /// the new order, and the predicted makespan. `dependsOn` in the input refers to input positions.
  public func schedule(_ moves: [PlannedMove]) -> (moves: [PlannedMove], makespan: Double) {
    let count = moves.count
    guard count > 0 else { return ([], 0) }
    let priority = moves.indices.sorted {
      let a = moves[$0].predicted.seconds
      let b = moves[$1].predicted.seconds
      return a != b ? a > b : moves[$0].vm != moves[$1].vm ? moves[$0].vm < moves[$1].vm : $0 < $1
    }
    var rank = [Int](repeating: 0, count: count)
    for (r, i) in priority.enumerated() { rank[i] = r }

    var start = [Double?](repeating: nil, count: count)
    var finished = [Bool](repeating: false, count: count)
    var running: [(end: Double, move: Int)] = []
    var busy: [String: Int] = [:]
    var time = 0.0
    var waiting = priority
    while !waiting.isEmpty {
      var stillWaiting: [Int] = []
      for i in waiting {
        let move = moves[i]
        let ready = move.dependsOn.allSatisfy { $0 >= 0 && $0 < count && finished[$0] }
        let fits =
          running.count < cluster && busy[move.from, default: 0] < perHost
          && busy[move.to, default: 0] < perHost
        if ready && fits {
          start[i] = time
          running.append((time + max(0, move.predicted.seconds), i))
          busy[move.from, default: 0] += 1
          busy[move.to, default: 0] += 1
        } else {
          stillWaiting.append(i)
        }
      }
      waiting = stillWaiting
      guard let next = running.map(\.end).min() else {
        // Nothing runs and nothing can start (a dependency outside the plan): run the rest in order.
        for i in waiting {
          start[i] = time
          time += max(0, moves[i].predicted.seconds)
          finished[i] = true
        }
        break
      }
      time = next
      for (end, i) in running where end <= time {
        finished[i] = true
        busy[moves[i].from, default: 1] -= 1
        busy[moves[i].to, default: 1] -= 1
      }
      running.removeAll { $0.end <= time }
    }

    let order = moves.indices.sorted {
      let a = start[$0] ?? 0
      let b = start[$1] ?? 0
      return a != b ? a < b : rank[$0] < rank[$1]
    }
    var position = [Int](repeating: 0, count: count)
    for (p, i) in order.enumerated() { position[i] = p }
    var makespan = 0.0
    let scheduled = order.map { i in
      var move = moves[i]
      move.plannedStartSeconds = start[i] ?? 0
      move.dependsOn = move.dependsOn.filter { $0 >= 0 && $0 < count }.map { position[$0] }.sorted()
      makespan = max(makespan, move.plannedStartSeconds + move.predicted.seconds)
      return move
    }
    return (scheduled, makespan)
  }
}
