/// Inputs of the pre-copy model for one live migration.
public struct PreCopyParameters: Sendable, Hashable, Codable {
  /// Guest memory M (sent whole in round 0).
  public var memory: ByteCount
  /// Rate D at which the guest dirties memory.
  public var dirtyRate: Bandwidth
  /// Writable working set W: at most this much is dirty at the end of any round.
  public var workingSet: ByteCount
  /// Longest acceptable stop-and-copy pause T.
  public var downtimeLimit: TimeSpan
  /// Stop rules, caps and the non-convergence policy.
  public var convergence: Convergence

  public init(
    memory: ByteCount, dirtyRate: Bandwidth, workingSet: ByteCount, downtimeLimit: TimeSpan,
    convergence: Convergence = Convergence()
  ) {
    self.memory = memory
    self.dirtyRate = dirtyRate
    self.workingSet = workingSet
    self.downtimeLimit = downtimeLimit
    self.convergence = convergence
  }

  /// The inputs for migrating `vm` live: what every predictor and the simulated driver use.
  ///
  /// Round 0 sends the memory the guest has touched, not its whole allocation: pages it
  /// never wrote are zero pages, which QEMU sends as a flag, almost free (measured on the
  /// QEMU lab, using the allocation overestimates total time 3–5×). Touched memory is
  /// `memory × usage.memory`, at least the working set; when `usage.memory` is unknown (0)
  /// the whole allocation counts.
  public init(vm: VM, downtimeLimit: TimeSpan, convergence: Convergence) {
    let touched = vm.usage.memory > 0 ? vm.memory.double * min(vm.usage.memory, 1) : vm.memory.double
    let sent = min(max(touched, vm.workingSet.double), vm.memory.double)
    self.init(
      memory: ByteCount(clamping: sent), dirtyRate: vm.dirtyRate, workingSet: vm.workingSet,
      downtimeLimit: downtimeLimit, convergence: convergence)
  }
}

/// One step of a pre-copy migration, as the model decides it.
public enum PreCopyStep: Sendable, Hashable {
  /// Send `bytes` while the guest runs; takes `seconds` at the given bandwidth.
  case round(index: Int, bytes: Double, seconds: Double, throttle: Double)
  /// Pause the guest and send the last `bytes`; `seconds` is the downtime.
  case stopAndCopy(bytes: Double, seconds: Double, throttle: Double)
  /// Give up: the VM keeps running on its source.
  case abort(reason: String)
}

/// The pre-copy model as a state machine, stepped round by round.
///
/// Round 0 sends M. Round i sends V_i = min(W, D·(1−throttle)·t_{i−1}) and takes
/// t_i = V_i / B. Before each round the stop rule is checked: when V_i / B ≤ T the migration
/// converges and V_i goes in the stop-and-copy pause (QEMU's rule: remaining ≤ B·T).
/// Otherwise, after `maxRounds` rounds, when the total passes `maxTotalFactor`·M (the `xen`
/// rule), or when a round no longer shrinks what remains (the `qemu` rule), the migration has
/// not converged and `onNoConvergence` decides: throttle the guest (20 %, +10 % a round),
/// raise the downtime limit up to `maxDowntime`, abort, or accept the long pause.
/// The planner runs it to the end at a fixed bandwidth (``predict(bandwidth:)``); the
/// simulated driver steps it with the bandwidth share each round really gets.
public struct PreCopyRun: Sendable, Hashable {
  public let parameters: PreCopyParameters
  /// Bytes dirty now, to be sent by the next round or the stop-and-copy.
  public private(set) var remaining: Double
  /// Pre-copy rounds sent so far.
  public private(set) var rounds: Int = 0
  /// Bytes sent so far.
  public private(set) var bytesSent: Double = 0
  /// Current guest CPU throttle (auto-converge), 0…1.
  public private(set) var throttle: Double = 0
  /// Whether the run has stopped (stop-and-copy or abort returned).
  public private(set) var finished = false
  /// Whether the non-convergence policy had to act.
  public private(set) var neededIntervention = false
  private var previousRemaining = Double.infinity
  private var stalledRounds = 0

  public init(_ parameters: PreCopyParameters) {
    self.parameters = parameters
    self.remaining = parameters.memory.double
  }

  /// The next step at `bandwidth`; call ``completeRound(seconds:)`` after each `.round`.
  public mutating func next(bandwidth: Bandwidth) -> PreCopyStep {
    let rate = max(bandwidth.bytesPerSecond, 1)
    let limit = parameters.convergence
    if rounds > 0, remaining / rate <= parameters.downtimeLimit.seconds {
      return stop(rate)
    }
    if rounds > 0, notConverging(rate) {
      neededIntervention = true
      switch limit.onNoConvergence {
      case .accept:
        return stop(rate)
      case .abort:
        finished = true
        return .abort(reason: abortReason(rate))
      case .raiseLimit:
        if remaining / rate <= limit.maxDowntime.seconds { return stop(rate) }
        finished = true
        return .abort(reason: abortReason(rate) + " even with the limit raised to \(limit.maxDowntime)")
      case .throttle:
        if throttle >= limit.throttleMax {
          if rounds >= 3 * max(limit.maxRounds, 1) {
            return stop(rate)  // fully throttled and still not below the limit: stop anyway
          }
        } else {
          throttle =
            throttle == 0 ? limit.throttleInitial : min(limit.throttleMax, throttle + limit.throttleIncrement)
        }
      }
    }
    let index = rounds
    return .round(index: index, bytes: remaining, seconds: remaining / rate, throttle: throttle)
  }

  /// Records that the round just returned by ``next(bandwidth:)`` took `seconds` to send.
  public mutating func completeRound(seconds: Double) {
    bytesSent += remaining
    previousRemaining = rounds == 0 ? .infinity : remaining
    rounds += 1
    let dirtied = parameters.dirtyRate.bytesPerSecond * (1 - throttle) * seconds
    let next = min(parameters.workingSet.double, dirtied)
    stalledRounds = next >= previousRemaining * 0.95 ? stalledRounds + 1 : 0
    remaining = next
  }

  private func notConverging(_ rate: Double) -> Bool {
    let limit = parameters.convergence
    if rounds >= limit.maxRounds { return true }
    switch limit.stopRule {
    case .xen:
      return bytesSent + remaining > limit.maxTotalFactor * parameters.memory.double
    case .qemu:
      return stalledRounds >= 2
    }
  }

  private mutating func stop(_ rate: Double) -> PreCopyStep {
    finished = true
    bytesSent += remaining
    return .stopAndCopy(bytes: remaining, seconds: remaining / rate, throttle: throttle)
  }

  private func abortReason(_ rate: Double) -> String {
    let pause = TimeSpan(seconds: remaining / rate)
    return "pre-copy does not converge: after \(rounds) rounds \(ByteCount(clamping: remaining)) stay dirty, "
      + "a \(pause) pause, over the \(parameters.downtimeLimit) limit"
  }

  /// Runs the model to the end at a constant `bandwidth`.
  public static func predict(_ parameters: PreCopyParameters, bandwidth: Bandwidth) -> LivePrediction {
    var run = PreCopyRun(parameters)
    var elapsed = 0.0
    while true {
      switch run.next(bandwidth: bandwidth) {
      case .round(_, _, let seconds, _):
        elapsed += seconds
        run.completeRound(seconds: seconds)
      case .stopAndCopy(_, let seconds, let throttle):
        return LivePrediction(
          totalSeconds: elapsed + seconds, downtimeSeconds: seconds, bytes: run.bytesSent,
          rounds: run.rounds, converges: true, throttle: throttle,
          intervention: run.neededIntervention ? parameters.convergence.onNoConvergence : nil, abortReason: nil)
      case .abort(let reason):
        return LivePrediction(
          totalSeconds: elapsed, downtimeSeconds: 0, bytes: run.bytesSent, rounds: run.rounds,
          converges: false, throttle: run.throttle, intervention: .abort, abortReason: reason)
      }
    }
  }
}

/// What the pre-copy model predicts for one live migration.
public struct LivePrediction: Sendable, Hashable, Codable {
  /// From the start of round 0 to the end of the stop-and-copy pause.
  public var totalSeconds: Double
  /// The stop-and-copy pause.
  public var downtimeSeconds: Double
  /// Everything sent, all rounds plus the final copy.
  public var bytes: Double
  /// Pre-copy rounds before the stop-and-copy.
  public var rounds: Int
  /// Whether it completes (with the policy's intervention, if one was needed).
  public var converges: Bool
  /// Guest CPU throttle reached (auto-converge), 0 when none.
  public var throttle: Double
  /// The non-convergence action that had to act, if any.
  public var intervention: NoConvergenceAction?
  /// Why it aborts, when it does.
  public var abortReason: String?
}
