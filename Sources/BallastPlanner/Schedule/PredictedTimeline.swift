import BallastModel

/// The plan's predicted timeline: the order its moves should start in to finish soonest
/// within the concurrency limits, when each is predicted to start and end, and the makespan.
/// (The engine's dispatcher starts moves at run time as they really end.)
///
/// List scheduling, longest move first (LPT): whenever a migration ends, start every waiting
/// move, longest first, whose dependencies have finished and whose source and destination are
/// each in fewer than `perHost` migrations, while fewer than `cluster` run in all. A move
/// counts against both of its hosts. Ties are broken by VM name.
///
/// Given each move's ``MoveProfile``, the moves are simulated as they will run: each one's steps
/// before and after its transfer take their time, and the transfers share the hosts' links
/// (``LinkFlows``, the simulated driver's own physics), a live one stepping ``PreCopyRun`` with
/// the rate each round really gets. So a move that runs beside others on a link is predicted
/// to take longer than alone, and its predicted cost says so. Without profiles each move takes
/// its predicted time.
public struct PredictedTimeline: Sendable {
  public var perHost: Int
  public var cluster: Int

  public init(concurrency: Concurrency) {
    self.perHost = max(1, concurrency.perHost)
    self.cluster = max(1, concurrency.cluster)
  }

  /// The moves in start order with `plannedStartSeconds` set and `dependsOn` renumbered to
  /// the new order, and the predicted makespan. `dependsOn` in the input refers to input positions.
  ///
  /// - Parameters:
  ///   - profiles: how each move unfolds (same order as `moves`); with them the links are
  ///     shared and each move's `predicted` becomes what it costs in this schedule.
  ///   - linkBandwidth: each host's migration link, bytes per second (with `profiles`).
  public func schedule(
    _ moves: [PlannedMove], profiles: [MoveProfile]? = nil, linkBandwidth: [String: Double] = [:]
  ) -> (moves: [PlannedMove], makespan: Double) {
    let count = moves.count
    guard count > 0 else { return ([], 0) }
    let priority = moves.indices.sorted {
      let a = moves[$0].predicted.seconds
      let b = moves[$1].predicted.seconds
      return a != b ? a > b : moves[$0].vm != moves[$1].vm ? moves[$0].vm < moves[$1].vm : $0 < $1
    }
    var rank = [Int](repeating: 0, count: count)
    for (r, i) in priority.enumerated() { rank[i] = r }

    var simulation = SharedLinks(
      moves: moves, profiles: profiles?.count == count ? profiles : nil, bandwidth: linkBandwidth)
    var start = [Double?](repeating: nil, count: count)
    var finished = [Bool](repeating: false, count: count)
    var running: Set<Int> = []
    var busy: [String: Int] = [:]
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
          start[i] = simulation.now
          simulation.start(i)
          running.insert(i)
          busy[move.from, default: 0] += 1
          busy[move.to, default: 0] += 1
        } else {
          stillWaiting.append(i)
        }
      }
      waiting = stillWaiting
      guard !running.isEmpty else {
        // Nothing runs and nothing can start (a dependency outside the plan): run the rest in order.
        for i in waiting {
          start[i] = simulation.now
          simulation.start(i)
          simulation.runToEnd()
          finished[i] = true
        }
        break
      }
      for i in simulation.advanceToNextEnd() {
        finished[i] = true
        running.remove(i)
        busy[moves[i].from, default: 1] -= 1
        busy[moves[i].to, default: 1] -= 1
      }
    }
    simulation.runToEnd()

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
      move.predicted = simulation.predicted(i)
      move.dependsOn = move.dependsOn.filter { $0 >= 0 && $0 < count }.map { position[$0] }.sorted()
      makespan = max(makespan, move.plannedStartSeconds + move.predicted.seconds)
      return move
    }
    return (scheduled, makespan)
  }
}

/// Moves running side by side, their transfers sharing the hosts' links: the timeline's clock.
///
/// Each started move goes through its steps: setup (a wait), its transfer (sends on a flow of
/// ``LinkFlows``; a live one round by round of ``PreCopyRun``, its final copy without the cap,
/// then the pause's fixed part with the flow still open, as the simulated driver does), finish
/// (a wait). Without a profile a move is one wait of its predicted time.
struct SharedLinks {
  private enum Step {
    case waiting(until: Double, then: After)
    case sending(final: Bool)
    case done
  }

  private enum After {
    case transfer
    case closeFlow
    case end
  }

  private struct Running {
    var step: Step
    var flow: Int?
    var run: PreCopyRun?
    var sendStart: Double = 0
    var planned: Double = 0
    var started: Double
    var ended: Double?
    var downtime: Double = 0
    var aborted = false
    /// How much sooner QEMU's rate limiter ends pre-copy than the steady cap the links model.
    var limiterSaving: Double = 0
  }

  let moves: [PlannedMove]
  let profiles: [MoveProfile]?
  let bandwidth: [String: Double]
  private(set) var now = 0.0
  private var links = LinkFlows()
  private var running: [Int: Running] = [:]

  init(moves: [PlannedMove], profiles: [MoveProfile]?, bandwidth: [String: Double]) {
    self.moves = moves
    self.profiles = profiles
    self.bandwidth = bandwidth
  }

  /// Starts move `i` now.
  mutating func start(_ i: Int) {
    guard let profile = profiles?[i] else {
      running[i] = Running(
        step: .waiting(until: now + max(0, moves[i].predicted.seconds), then: .end), started: now)
      return
    }
    running[i] = Running(step: .waiting(until: now + max(0, profile.setupSeconds), then: .transfer), started: now)
    settle(i)
  }

  /// Moves the clock to the next time a move ends (handling every step on the way); returns
  /// the moves that ended then.
  mutating func advanceToNextEnd() -> [Int] {
    while true {
      let active = running.filter { $0.value.ended == nil }
      guard !active.isEmpty else { return [] }
      let next = active.keys.map(nextEvent).min() ?? now
      guard next.isFinite else {
        // A transfer that can never finish (no bandwidth): end it now, as the driver's stall would.
        let stuck = active.keys.sorted()
        for i in stuck { finish(i) }
        return stuck
      }
      now = max(now, next)
      var ended: [Int] = []
      for i in active.keys.sorted() where nextEvent(i) <= now + 1e-12 {
        fire(i)
        if running[i]?.ended != nil { ended.append(i) }
      }
      if !ended.isEmpty { return ended }
    }
  }

  /// Runs every started move to its end.
  mutating func runToEnd() {
    while running.contains(where: { $0.value.ended == nil }) { _ = advanceToNextEnd() }
  }

  /// What move `i` costs in this schedule (its plan's prediction when it was not simulated).
  func predicted(_ i: Int) -> PredictedCost {
    var cost = moves[i].predicted
    guard profiles != nil, let state = running[i], let ended = state.ended else { return cost }
    cost.seconds = max(ended - state.started - state.limiterSaving, 0)
    if let run = state.run {
      cost.bytes = run.bytesSent
      cost.rounds = run.rounds
      cost.throttle = run.throttle
      cost.downtimeMs = state.downtime * 1000
      if state.aborted { cost.converges = false }
    } else if profiles?[i].shutsDown == true {
      cost.downtimeMs = cost.seconds * 1000
    }
    return cost
  }

  // MARK: Steps

  private func nextEvent(_ i: Int) -> Double {
    guard let state = running[i] else { return .infinity }
    switch state.step {
    case .waiting(let until, _): return until
    case .sending: return state.flow.flatMap { links[$0]?.finishAt } ?? now
    case .done: return .infinity
    }
  }

  /// Handles the event of move `i` that is due now, then every step that follows at once.
  private mutating func fire(_ i: Int) {
    guard var state = running[i] else { return }
    switch state.step {
    case .waiting(_, let then):
      switch then {
      case .end:
        finish(i)
        return
      case .closeFlow:
        if let flow = state.flow { close(flow) }
        state.flow = nil
        state.step = .waiting(until: now + max(0, profiles?[i].finishSeconds ?? 0), then: .end)
        running[i] = state
      case .transfer:
        running[i] = state
        openTransfer(i)
      }
    case .sending(let final):
      guard let flow = state.flow, let sending = links[flow] else { return }
      let seconds = sending.rateChanged ? now - state.sendStart : state.planned
      links.stopSending(flow)
      if final {
        state.downtime += seconds
        running[i] = state
        endFinalCopy(i)
      } else if state.run != nil {
        state.run?.completeRound(seconds: seconds)
        running[i] = state
        stepLive(i)
      } else {
        running[i] = state
        close(flow)
        running[i]?.flow = nil
        running[i]?.step = .waiting(until: now + max(0, profiles?[i].finishSeconds ?? 0), then: .end)
      }
    case .done:
      return
    }
    settle(i)
  }

  /// Fires the steps of move `i` that take no time.
  private mutating func settle(_ i: Int) {
    while let state = running[i], state.ended == nil, nextEvent(i) <= now, !isSending(state) {
      fire(i)
    }
  }

  private func isSending(_ state: Running) -> Bool {
    if case .sending = state.step { return true }
    return false
  }

  private mutating func openTransfer(_ i: Int) {
    guard let profile = profiles?[i] else { return }
    let flow = links.open(from: profile.from, to: profile.to, cap: profile.cap, efficiency: profile.efficiency)
    rebalance()
    running[i]?.flow = flow
    if let parameters = profile.live {
      running[i]?.run = PreCopyRun(parameters)
      stepLive(i)
    } else {
      send(i, bytes: profile.copyBytes, final: false)
    }
  }

  private mutating func stepLive(_ i: Int) {
    guard var state = running[i], var run = state.run, let flow = state.flow else { return }
    let share = Bandwidth(bytesPerSecond: links[flow]?.rate ?? 0)
    let step = run.next(bandwidth: share)
    state.run = run
    running[i] = state
    switch step {
    case .round(_, let bytes, _, _):
      send(i, bytes: bytes, final: false)
    case .stopAndCopy(let bytes, _):
      // QEMU's rate limiter paced the rounds (``PreCopyParameters/rateLimiter``): pre-copy took
      // the windows' time, not its bytes at the steady share the links gave.
      running[i]?.limiterSaving = max(run.elapsed - run.pacedElapsed, 0)
      if let rate = profiles?[i].finalRate, rate > 0 {
        // A learned final rate: the copy takes what it learned, the flow stays open.
        running[i]?.downtime += bytes / rate
        endFinalCopy(i, after: bytes / rate)
      } else {
        links[flow]?.cap = nil
        rebalance()
        send(i, bytes: bytes, final: true)
      }
    case .abort:
      running[i]?.aborted = true
      running[i]?.step = .waiting(until: now, then: .closeFlow)
    }
  }

  /// After the final copy: the pause's fixed part, the flow still open, then the finish.
  private mutating func endFinalCopy(_ i: Int, after copy: Double = 0) {
    let pause = profiles?[i].live?.pauseOverhead.seconds ?? 0
    running[i]?.downtime += pause
    running[i]?.step = .waiting(until: now + copy + pause, then: .closeFlow)
  }

  private mutating func send(_ i: Int, bytes: Double, final: Bool) {
    guard let flow = running[i]?.flow else { return }
    running[i]?.planned = links.startSending(flow, bytes: max(bytes, 0), now: now)
    running[i]?.sendStart = now
    running[i]?.step = .sending(final: final)
  }

  private mutating func close(_ flow: Int) {
    links.close(flow)
    rebalance()
  }

  private mutating func finish(_ i: Int) {
    if let flow = running[i]?.flow { close(flow) }
    running[i]?.flow = nil
    running[i]?.step = .done
    running[i]?.ended = now
  }

  private mutating func rebalance() {
    let bandwidth = self.bandwidth
    _ = links.rebalance(now: now) { bandwidth[$0] ?? 0 }
  }
}
