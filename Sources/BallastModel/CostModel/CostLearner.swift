/// Turns what a completed migration measured into the cost model's estimates.
///
/// Each figure the model uses is recovered from the observation by running the model
/// backwards, then taken into a robust average (``Estimate``) that starts from the file's
/// value (the prior):
///
/// - **Link efficiency** (per host pair): the pre-copy's bytes over its seconds (a cold copy's
///   likewise), over the rate the transfer was entitled to with the transfers that shared its
///   links (``MigrationObservation/fairShare``): what the link really delivers.
/// - **Touched memory** (per VM): the first round's bytes, less what the zero pages cost.
/// - **Dirty rate** (per VM): the rate at which ``PreCopyRun``, at the rate the transfer
///   really had (its cap, paced by QEMU's windows, when it beat the cap), sends as many bytes
///   as were measured (found by bisection).
/// - **The pause** (per host pair): a line through (bytes left at the stop, pause): its fixed
///   part and the final copy's rate.
/// - **Shutdown and boot** (per VM): as measured.
/// - **The steps around the transfer** (per kind and pair of hosts, both directions together:
///   the same two hypervisors start, commit and resume either way, and twice the migrations
///   settle the figure sooner): as measured (``learnSteps(from:link:priors:settings:)``).
public enum CostLearner {
  /// Transfers shorter than this (seconds) say too little about a link's rate to learn from.
  public static let shortestTransfer = 0.05

  /// Updates `vm` and `link` (the estimates of the observation's VM and host pair) with what
  /// `observation` shows; returns the names of the figures it changed.
  @discardableResult
  public static func learn(
    from observation: MigrationObservation, vm: inout VMEstimates, link: inout LinkEstimates,
    priors: CostPriors = CostPriors(), settings: LearningSettings = LearningSettings()
  ) -> [String] {
    var learned: [String] = []
    func update(_ estimate: inout Estimate?, _ name: String, prior: Double, _ value: Double?) {
      if take(value, into: &estimate, prior: prior, settings: settings) { learned.append(name) }
    }
    let o = observation
    let entitled = o.entitledRate * min(max(o.fairShare, 0.01), 1)
    switch o.kind {
    case .live:
      let preCopySeconds = o.transferSeconds - o.downtimeSeconds
      let preCopyBytes = o.bytes - (o.finalCopyBytes ?? 0)
      let achieved = preCopySeconds > shortestTransfer && preCopyBytes > 0 ? preCopyBytes / preCopySeconds : nil
      if let achieved, entitled > 0 {
        update(&link.efficiency, "link efficiency", prior: 1, min(achieved / entitled, 1))
      }
      let memory = o.vmAtStart.memory.double
      var touched: Double?
      if let first = o.firstRoundBytes, first > 0 {
        let zero = PreCopyRun.zeroPageCost
        touched = min(max((first - zero * memory) / (1 - zero), 0), memory)
        update(
          &vm.touchedMemory, "touched memory", prior: PreCopyParameters.touchedMemory(of: o.vmAtStart).double, touched)
      }
      if let left = o.finalCopyBytes, o.downtimeSeconds > 0 {
        var line =
          link.pause
          ?? LineEstimate(
            intercept: priors.pauseSeconds, slope: 1 / max(o.nominalRate * (link.efficiency?.value ?? 1), 1))
        if line.take(x: left, y: o.downtimeSeconds, settings: settings) { learned.append("pause") }
        link.pause = line
      }
      if let achieved {
        // Replayed as the planner will predict it: at most at the rate it was entitled to and,
        // under QEMU's windowed rate limiter (recorded, or told by a transfer that beat its
        // cap: only the limiter's unslept last window does that), paced by windows whose bytes
        // leave at the final copy's rate.
        var limiter: RateLimiterWindows?
        var rate = achieved
        let capped = o.cap.map { $0 < o.nominalRate } ?? false
        if entitled > 0, capped, o.rateLimiter ?? (achieved > entitled * 1.001) {
          rate = min(achieved, entitled)
          let efficiency = min(max(link.efficiency?.value ?? 1, 0.01), 1)
          let slope = link.pause?.slope ?? 0
          limiter = RateLimiterWindows(
            cappedRate: rate, burstRate: slope > 0 ? 1 / slope : o.nominalRate * efficiency)
        }
        let dirty = dirtyRate(o, touched: touched ?? vm.touchedMemory?.value, rate: rate, limiter: limiter)
        update(&vm.dirtyRate, "dirty rate", prior: o.vmAtStart.dirtyRate.bytesPerSecond, dirty)
      }
    case .cold:
      if o.transferSeconds > shortestTransfer, o.bytes > 0, entitled > 0 {
        update(&link.efficiency, "link efficiency", prior: 1, min(o.bytes / o.transferSeconds / entitled, 1))
      }
      update(
        &vm.shutdownSeconds, "shutdown", prior: o.vmAtStart.shutdownTime?.seconds ?? priors.shutdownSeconds,
        o.shutdownSeconds)
      update(&vm.bootSeconds, "boot", prior: o.vmAtStart.bootTime?.seconds ?? priors.bootSeconds, o.bootSeconds)
    }
    return learned + learnSteps(from: observation, link: &link, priors: priors, settings: settings)
  }

  /// Updates the step figures of `link` (the observation's host pair, in either direction)
  /// with the steps before and after `observation`'s transfer; returns the names it changed.
  @discardableResult
  public static func learnSteps(
    from observation: MigrationObservation, link: inout LinkEstimates, priors: CostPriors = CostPriors(),
    settings: LearningSettings = LearningSettings()
  ) -> [String] {
    var learned: [String] = []
    func update(_ estimate: inout Estimate?, _ name: String, prior: Double, _ value: Double) {
      if take(value, into: &estimate, prior: prior, settings: settings) { learned.append(name) }
    }
    let o = observation
    switch o.kind {
    case .live:
      update(&link.liveSetupSeconds, "live setup", prior: priors.liveSetupSeconds, o.setupSeconds)
      update(&link.liveFinishSeconds, "live finish", prior: priors.liveFinishSeconds, o.finishSeconds)
    case .cold:
      update(&link.coldSetupSeconds, "cold setup", prior: priors.coldSetupSeconds, o.setupSeconds)
      update(&link.coldFinishSeconds, "cold finish", prior: priors.coldFinishSeconds, o.finishSeconds)
    }
    return learned
  }

  /// Takes `value` (a measured figure, when there is one) into `estimate`, which starts at
  /// `prior`; whether it was taken (not missing, negative or an outlier).
  private static func take(
    _ value: Double?, into estimate: inout Estimate?, prior: Double, settings: LearningSettings
  ) -> Bool {
    guard let value, value.isFinite, value >= 0 else { return false }
    var current = estimate ?? Estimate(value: prior)
    let taken = current.take(value, settings: settings)
    estimate = current
    return taken
  }

  /// The dirty rate at which the pre-copy model, at `rate` (paced by `limiter` when QEMU's
  /// rate limiter paced it), sends the bytes `observation` measured (bisection; the model
  /// sends more the faster the guest dirties).
  static func dirtyRate(
    _ observation: MigrationObservation, touched: Double?, rate: Double, limiter: RateLimiterWindows? = nil
  ) -> Double? {
    let vm = observation.vmAtStart
    let measured = observation.bytes
    guard rate > 0, measured > 0 else { return nil }
    func bytes(_ dirty: Double) -> Double {
      let parameters = PreCopyParameters(
        memory: vm.memory, touchedMemory: ByteCount(Int64((touched ?? PreCopyParameters.touchedMemory(of: vm).double))),
        dirtyRate: Bandwidth(bytesPerSecond: dirty), workingSet: vm.workingSet,
        downtimeLimit: TimeSpan(seconds: observation.downtimeLimitSeconds), convergence: observation.convergence,
        cpuBusy: vm.usage.cpu, rateLimiter: limiter)
      return PreCopyRun.predict(parameters, bandwidth: Bandwidth(bytesPerSecond: rate)).bytes
    }
    if bytes(0) >= measured { return 0 }
    var high = max(rate, vm.dirtyRate.bytesPerSecond, 1e6)
    var tries = 0
    while bytes(high) < measured, tries < 8 {
      high *= 4
      tries += 1
    }
    if bytes(high) < measured { return high }
    var low = 0.0
    for _ in 0..<40 {
      let middle = (low + high) / 2
      if bytes(middle) < measured { low = middle } else { high = middle }
    }
    return (low + high) / 2
  }
}
