/// Inputs of the pre-copy model for one live migration.
public struct PreCopyParameters: Sendable, Hashable, Codable {
  /// Guest memory M, the allocation: every page is scanned in the first pass.
  public var memory: ByteCount
  /// Memory the guest has written (non-zero pages): what the first pass really sends. The rest
  /// are zero pages, which QEMU sends as a 9-byte header each (``PreCopyRun/zeroPageCost``).
  public var touchedMemory: ByteCount
  /// Rate D at which the guest dirties memory, unthrottled.
  public var dirtyRate: Bandwidth
  /// Writable working set W: at most this much is dirty at any bitmap sync.
  public var workingSet: ByteCount
  /// Longest acceptable stop-and-copy pause T (QEMU's `downtime-limit`).
  public var downtimeLimit: TimeSpan
  /// Stop rules, caps and the non-convergence policy.
  public var convergence: Convergence
  /// Fraction of its vCPU time the guest uses, 0…1; auto-converge slows its dirtying only once
  /// the throttle leaves it less than that (0: unknown, taken as 1, a CPU-bound guest).
  public var cpuBusy: Double
  /// The fixed part of the pause: stopping the vCPUs, the device state, the destination's
  /// take-over (what the pause costs with nothing left to copy).
  public var pauseOverhead: TimeSpan
  /// QEMU's windowed rate limiter, when a cap below the link paces pre-copy (`nil`: the
  /// rounds go at a steady rate).
  public var rateLimiter: RateLimiterWindows?

  public init(
    memory: ByteCount, touchedMemory: ByteCount? = nil, dirtyRate: Bandwidth, workingSet: ByteCount,
    downtimeLimit: TimeSpan, convergence: Convergence = Convergence(), cpuBusy: Double = 0,
    pauseOverhead: TimeSpan = .zero, rateLimiter: RateLimiterWindows? = nil
  ) {
    self.memory = memory
    self.touchedMemory = touchedMemory.map { min($0, memory) } ?? memory
    self.dirtyRate = dirtyRate
    self.workingSet = workingSet
    self.downtimeLimit = downtimeLimit
    self.convergence = convergence
    self.cpuBusy = cpuBusy
    self.pauseOverhead = pauseOverhead
    self.rateLimiter = rateLimiter
  }

  /// The inputs for migrating `vm` live as its description says (the file's values: the
  /// planner's prior, before anything was learned).
  ///
  /// Touched memory is `memory × usage.memory`, at least the working set; when `usage.memory`
  /// is unknown (0) the whole allocation counts.
  public init(vm: VM, downtimeLimit: TimeSpan, convergence: Convergence, pauseOverhead: TimeSpan = .zero) {
    self.init(
      memory: vm.memory, touchedMemory: Self.touchedMemory(of: vm), dirtyRate: vm.dirtyRate,
      workingSet: vm.workingSet, downtimeLimit: downtimeLimit, convergence: convergence,
      cpuBusy: vm.usage.cpu, pauseOverhead: pauseOverhead)
  }

  /// The memory `vm` has written, as its description says: `memory × usage.memory`, at least
  /// its working set, at most its memory (all of it when `usage.memory` is unknown).
  public static func touchedMemory(of vm: VM) -> ByteCount {
    let memory = vm.memory.double
    let touched = vm.usage.memory > 0 ? memory * min(vm.usage.memory, 1) : memory
    return ByteCount(clamping: min(max(touched, vm.workingSet.double), memory))
  }
}

/// QEMU's rate limiter (7.2, `migration_thread`): a cap below the link is enforced per window
/// of 100 ms (`BUFFER_DELAY`). The window's share of the cap leaves at once, at the link's rate;
/// the sender then sleeps out the window and looks at the dirty bitmap again when the next one
/// opens. A round that empties the bitmap mid-window syncs at once, without the sleep.
public struct RateLimiterWindows: Sendable, Hashable, Codable {
  /// The rate the cap allows (a window carries a tenth of it), bytes per second.
  public var cappedRate: Double
  /// The rate a window's bytes leave at (the link's), bytes per second.
  public var burstRate: Double

  public init(cappedRate: Double, burstRate: Double) {
    self.cappedRate = cappedRate
    self.burstRate = burstRate
  }

  /// The bytes of a window when pre-copy runs at `rate`; `nil` when the limiter does not pace
  /// it (a share of the link below the cap, or a link no faster than the cap).
  public func window(at rate: Double) -> Double? {
    guard burstRate > rate, rate > 0, rate >= cappedRate * 0.999 else { return nil }
    return rate * PreCopyRun.iterationSeconds
  }

  /// When the `bytes`-th byte of pre-copy has left, in seconds from its start, with windows of
  /// `window` bytes: after the window's sleep when the round ended at a window's end (the
  /// bitmap is looked at when the next opens), straight after the burst when it `emptied` the
  /// bitmap.
  public func time(of bytes: Double, window: Double, emptied: Bool) -> Double {
    let tolerance = 1.0  // a byte: the round's end on a window's edge
    let full =
      emptied
      ? max(((bytes - tolerance) / window).rounded(.up) - 1, 0) : ((bytes + tolerance) / window).rounded(.down)
    let rest = max(bytes - full * window, 0)
    return full * PreCopyRun.iterationSeconds + rest / burstRate
  }
}

/// One step of a pre-copy migration, as the model decides it.
public enum PreCopyStep: Sendable, Hashable {
  /// Send `bytes` while the guest runs, up to the next dirty-bitmap sync; takes `seconds` at
  /// the given bandwidth.
  case round(index: Int, bytes: Double, seconds: Double, throttle: Double)
  /// Pause the guest and send the last `bytes`, without the bandwidth cap; the pause lasts
  /// that copy plus ``PreCopyParameters/pauseOverhead``.
  case stopAndCopy(bytes: Double, throttle: Double)
  /// Give up: the VM keeps running on its source.
  case abort(reason: String)
}

/// The pre-copy model as a state machine, stepped from one dirty-bitmap sync to the next, as
/// QEMU's migration thread (7.2, `migration_iteration_run`, `ram_save_pending`,
/// `migration_trigger_throttle`) does it.
///
/// - **Passes and syncs.** The first pass scans all memory M: touched pages cost their size,
///   zero pages a 9-byte header (``zeroPageCost``). QEMU sends in iterations of 100 ms
///   (``iterationSeconds``: the rate limiter's window, `BUFFER_DELAY`) at the bandwidth B and,
///   after each, compares what is still dirty in its bitmap with the threshold B·T. Once it is
///   under, QEMU syncs the bitmap, adding what the guest dirtied since the last sync:
///   min(W, left + D·t). The switchover decision is taken there, mid-pass: when what is left
///   plus what was dirtied is under B·T, the guest stops; otherwise the pass goes on with the
///   new pages. Each sync ends a round.
/// - **Under QEMU's rate limiter** (``PreCopyParameters/rateLimiter``) the guest dirties for
///   the time the windows really take: a round that empties the bitmap ends after its last
///   burst, not after the steady-rate time of its bytes; one that ends with pages left ends
///   when the next window opens. Rounds after the first end on window edges.
/// - **The final copy** goes without the bandwidth cap (QEMU lifts the rate limit once the
///   guest is stopped), at the link's full rate, plus a fixed ``PreCopyParameters/pauseOverhead``.
/// - **Auto-converge** (policy `onNoConvergence: throttle`): at a sync more than a second after
///   the last check, when the pages newly dirtied in that period exceed half the bytes sent in
///   it, a counter grows; at two, the guest is throttled (`throttleInitial`, then
///   `+throttleIncrement` up to `throttleMax`) and the counter restarts. A throttle p leaves the
///   guest 1 − p of its CPU; one busy a fraction u of its time dirties at D·min(1, (1 − p)/u).
///   Fully throttled and still not under the limit after 3 × `maxRounds` rounds, it stops anyway.
/// - **Other policies** (`abort`, `raiseLimit`, `accept`) act when pre-copy is not converging:
///   after `maxRounds` rounds, when the total passes `maxTotalFactor`·M (the `xen` rule), or
///   when what is dirty at a sync no longer shrinks for two rounds (the `qemu` rule).
///
/// The planner runs it to the end at a fixed bandwidth (``predict(_:bandwidth:finalBandwidth:)``);
/// the simulated driver and the planner's timeline step it with the bandwidth each round
/// really gets.
public struct PreCopyRun: Sendable, Hashable {
  /// QEMU's migration iteration (its rate limiter's window): the switchover check runs at
  /// least this often.
  public static let iterationSeconds = 0.1
  /// Bytes QEMU sends for a page of zeros, per byte of page (an 8-byte header and a flag byte
  /// per 4 KiB page).
  public static let zeroPageCost = 9.0 / 4096
  /// Auto-converge looks at the dirty rate at syncs at least this far apart (seconds).
  public static let throttleCheckPeriod = 1.0
  /// Auto-converge counts a period as dirtying fast when it dirtied more than this share of
  /// what it sent (QEMU's `throttle-trigger-threshold`, 50 %).
  public static let throttleTriggerShare = 0.5

  public let parameters: PreCopyParameters
  /// Bytes dirty now in the bitmap (to be sent by the next round or the stop-and-copy).
  public private(set) var remaining: Double
  /// Pre-copy rounds (sync to sync) completed so far.
  public private(set) var rounds: Int = 0
  /// Bytes sent so far.
  public private(set) var bytesSent: Double = 0
  /// Seconds of pre-copy so far.
  public private(set) var elapsed: Double = 0
  /// Current guest CPU throttle (auto-converge), 0…1.
  public private(set) var throttle: Double = 0
  /// Whether the run has stopped (stop-and-copy or abort returned).
  public private(set) var finished = false
  /// Whether the non-convergence policy had to act.
  public private(set) var neededIntervention = false
  /// Bytes newly dirtied at the last sync.
  public private(set) var lastDirtied: Double = 0
  /// Seconds of pre-copy so far as the guest lived them: ``elapsed`` unless QEMU's rate
  /// limiter paced the rounds (then the windows' time, whatever the caller's clock said).
  public private(set) var pacedElapsed: Double = 0
  /// Bytes of the round in progress, as the last ``next(bandwidth:)`` returned it.
  private var roundBytes: Double = 0
  /// The window of the round in progress when the rate limiter paces it, and whether it
  /// empties the bitmap.
  private var roundWindow: Double?
  private var roundEmpties = false
  private var previousRemaining = Double.infinity
  private var stalledRounds = 0
  private var highDirtyPeriods = 0
  /// When the current auto-converge period began, what had been sent then, what it dirtied.
  private var periodStart: Double = 0
  private var periodSent: Double = 0
  private var periodDirtied: Double = 0

  public init(_ parameters: PreCopyParameters) {
    self.parameters = parameters
    self.remaining = parameters.memory.double
  }

  /// The guest's dirty rate under the current throttle, bytes per second.
  public var effectiveDirtyRate: Double {
    Self.dirtyRate(parameters.dirtyRate.bytesPerSecond, throttle: throttle, cpuBusy: parameters.cpuBusy)
  }

  /// Rate `rate` of a guest busy `cpuBusy` of its time (0: unknown, 1) throttled by `throttle`.
  public static func dirtyRate(_ rate: Double, throttle: Double, cpuBusy: Double) -> Double {
    guard throttle > 0 else { return rate }
    let busy = cpuBusy > 0 ? min(cpuBusy, 1) : 1
    return rate * min(1, max(0, 1 - throttle) / busy)
  }

  /// The next step at `bandwidth`; call ``completeRound(seconds:)`` after each `.round`.
  public mutating func next(bandwidth: Bandwidth) -> PreCopyStep {
    let rate = max(bandwidth.bytesPerSecond, 1)
    roundWindow = parameters.rateLimiter?.window(at: rate)
    if rounds == 0 {
      let touched = parameters.touchedMemory.double
      roundBytes = touched + (parameters.memory.double - touched) * Self.zeroPageCost
      roundEmpties = true
      return .round(index: 0, bytes: roundBytes, seconds: roundSeconds(rate), throttle: throttle)
    }
    let threshold = rate * parameters.downtimeLimit.seconds
    if remaining < threshold || remaining <= 0 { return stop() }
    let limit = parameters.convergence
    if limit.onNoConvergence == .throttle {
      if throttle >= limit.throttleMax, rounds >= 3 * max(limit.maxRounds, 1) {
        neededIntervention = true
        return stop()  // fully throttled and still not under the limit: stop anyway
      }
    } else if notConverging {
      neededIntervention = true
      switch limit.onNoConvergence {
      case .accept, .throttle:
        return stop()
      case .abort:
        finished = true
        return .abort(reason: abortReason(rate))
      case .raiseLimit:
        if remaining / rate <= limit.maxDowntime.seconds { return stop() }
        finished = true
        return .abort(reason: abortReason(rate) + " even with the limit raised to \(limit.maxDowntime)")
      }
    }
    // Iterations of 100 ms until what is left in the bitmap is under the threshold.
    let iteration = rate * Self.iterationSeconds
    if let window = roundWindow {
      // The bitmap is looked at when a window opens: the first after this round's start, then
      // one per window.
      let offset = bytesSent.truncatingRemainder(dividingBy: window)
      let first = offset < 1 || window - offset < 1 ? window : window - offset
      let excess = remaining - threshold - first
      let windows = excess >= 0 ? (excess / window).rounded(.down) + 1 : 0
      roundBytes = min(remaining, first + windows * window)
    } else {
      let iterations = ((remaining - threshold) / iteration).rounded(.down) + 1
      roundBytes = min(remaining, iterations * iteration)
    }
    roundEmpties = roundBytes >= remaining
    return .round(index: rounds, bytes: roundBytes, seconds: roundSeconds(rate), throttle: throttle)
  }

  /// Seconds the round in progress takes at `rate`: its windows' time when the rate limiter
  /// paces it, its bytes at `rate` otherwise.
  private func roundSeconds(_ rate: Double) -> Double { pacedRoundSeconds ?? roundBytes / rate }

  /// The windows' time of the round in progress, when QEMU's rate limiter paces it.
  private var pacedRoundSeconds: Double? {
    guard let window = roundWindow, let limiter = parameters.rateLimiter else { return nil }
    let end = limiter.time(of: bytesSent + roundBytes, window: window, emptied: roundEmpties)
    return max(end - pacedElapsed, 0)
  }

  /// Records that the round just returned by ``next(bandwidth:)`` took `seconds` to send, and
  /// syncs the bitmap: what the guest dirtied meanwhile joins what the round left.
  public mutating func completeRound(seconds: Double) {
    let seconds = max(seconds, 0)
    // Under the rate limiter the guest dirties for the windows' time, whatever the caller's
    // clock (a steady share of a link) says.
    let lived = pacedRoundSeconds ?? seconds
    pacedElapsed += lived
    let left = rounds == 0 ? 0 : max(remaining - roundBytes, 0)
    let dirtied = effectiveDirtyRate * lived
    let workingSet = parameters.workingSet.double
    let next = max(left, min(workingSet, left + dirtied))
    lastDirtied = next - left
    bytesSent += roundBytes
    elapsed += seconds
    previousRemaining = rounds == 0 ? .infinity : remaining
    stalledRounds = rounds > 0 && next >= previousRemaining * 0.95 ? stalledRounds + 1 : 0
    rounds += 1
    remaining = next
    roundBytes = 0
    roundWindow = nil
    autoConverge()
  }

  /// QEMU's `migration_trigger_throttle`, at a sync: a period of more than a second that
  /// dirtied more than half of what it sent counts; the second such period throttles.
  private mutating func autoConverge() {
    let limit = parameters.convergence
    guard limit.onNoConvergence == .throttle else { return }
    periodDirtied += lastDirtied
    // QEMU asks for more than a second; its rounds run a little over their nominal time, so a
    // round of exactly one nominal second counts.
    guard pacedElapsed - periodStart >= Self.throttleCheckPeriod else { return }
    if periodDirtied > Self.throttleTriggerShare * (bytesSent - periodSent) {
      highDirtyPeriods += 1
      if highDirtyPeriods >= 2 {
        highDirtyPeriods = 0
        throttle = throttle == 0 ? limit.throttleInitial : min(limit.throttleMax, throttle + limit.throttleIncrement)
        neededIntervention = true
      }
    }
    periodStart = pacedElapsed
    periodSent = bytesSent
    periodDirtied = 0
  }

  private var notConverging: Bool {
    let limit = parameters.convergence
    if rounds >= limit.maxRounds { return true }
    switch limit.stopRule {
    case .xen:
      return bytesSent + remaining > limit.maxTotalFactor * parameters.memory.double
    case .qemu:
      return stalledRounds >= 2
    }
  }

  private mutating func stop() -> PreCopyStep {
    finished = true
    bytesSent += remaining
    return .stopAndCopy(bytes: remaining, throttle: throttle)
  }

  private func abortReason(_ rate: Double) -> String {
    let pause = TimeSpan(seconds: remaining / rate)
    return "pre-copy does not converge: after \(rounds) rounds \(ByteCount(clamping: remaining)) stay dirty, "
      + "a \(pause) pause, over the \(parameters.downtimeLimit) limit"
  }

  /// Runs the model to the end: pre-copy at `bandwidth`, the final copy at `finalBandwidth`
  /// (the link without the cap; `bandwidth` when not given).
  ///
  /// With the parameters' ``PreCopyParameters/rateLimiter`` (QEMU's, under a cap below the
  /// link), pre-copy takes the windows' time: each window's bytes leave at once at the link's
  /// rate and the sender sleeps out the window, except after a round that empties the bitmap.
  public static func predict(
    _ parameters: PreCopyParameters, bandwidth: Bandwidth, finalBandwidth: Bandwidth? = nil
  ) -> LivePrediction {
    let rate = max(bandwidth.bytesPerSecond, 1)
    let final = max((finalBandwidth ?? bandwidth).bytesPerSecond, rate)
    var run = PreCopyRun(parameters)
    while true {
      switch run.next(bandwidth: bandwidth) {
      case .round(_, _, let seconds, _):
        run.completeRound(seconds: seconds)
      case .stopAndCopy(let bytes, let throttle):
        let pause = bytes / final + parameters.pauseOverhead.seconds
        return LivePrediction(
          totalSeconds: run.pacedElapsed + pause, downtimeSeconds: pause, bytes: run.bytesSent,
          rounds: run.rounds, converges: true, throttle: throttle,
          intervention: run.neededIntervention ? parameters.convergence.onNoConvergence : nil, abortReason: nil)
      case .abort(let reason):
        return LivePrediction(
          totalSeconds: run.pacedElapsed, downtimeSeconds: 0, bytes: run.bytesSent, rounds: run.rounds,
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
