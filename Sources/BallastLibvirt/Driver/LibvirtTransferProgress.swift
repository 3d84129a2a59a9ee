import BallastEngine
import BallastModel
import CLibvirt

/// Bookkeeping of one live migration as libvirt's job statistics show it: a pre-copy round
/// ends whenever `memory_iteration` grows; the policy's convergence rules.
struct LibvirtTransferProgress: Sendable {
  let settings: LiveSettings
  let memory: Double
  private(set) var iteration: Double = 0
  private var roundStartProcessed: Double = 0
  private var roundStartElapsedMs: Double = 0
  private var previousRemaining = Double.infinity
  private var stalledRounds = 0
  private(set) var rounds = 0
  private(set) var lastRemaining: Double = 0
  private(set) var lastProcessed: Double = 0
  private(set) var measuredBandwidth: Double = 0
  /// Highest auto-converge throttle seen, 0…1.
  private(set) var throttle: Double = 0
  var stopAndCopyAnnounced = false
  var limitRaised = false
  private(set) var limitRaisedAtRound = 0

  init(settings: LiveSettings, memory: Double) {
    self.settings = settings
    self.memory = memory
  }

  /// Takes in a reading of the running job; returns the round that ended, if one did.
  mutating func observe(_ job: LibvirtJob) -> PreCopyRound? {
    throttle = max(throttle, (job.number(VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE) ?? 0) / 100)
    let processed = job.number(VIR_DOMAIN_JOB_MEMORY_PROCESSED) ?? lastProcessed
    let remaining = job.number(VIR_DOMAIN_JOB_MEMORY_REMAINING) ?? lastRemaining
    let elapsedMs = job.number(VIR_DOMAIN_JOB_TIME_ELAPSED) ?? roundStartElapsedMs
    lastProcessed = processed
    let current = job.number(VIR_DOMAIN_JOB_MEMORY_ITERATION) ?? iteration
    guard current > iteration else {
      lastRemaining = remaining
      return nil
    }
    iteration = current
    let seconds = max((elapsedMs - roundStartElapsedMs) / 1000, 0.001)
    let sent = max(processed - roundStartProcessed, 0)
    measuredBandwidth = job.number(VIR_DOMAIN_JOB_MEMORY_BPS) ?? sent / seconds
    let pageSize = job.number(VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE) ?? 4096
    let dirtied = (job.number(VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE) ?? 0) * pageSize * seconds
    let round = PreCopyRound(
      index: rounds, bytesSent: sent, bytesDirtied: dirtied, remaining: remaining, seconds: seconds,
      bandwidthBytesPerSecond: measuredBandwidth, throttle: throttle)
    if rounds > 0 { stalledRounds = remaining >= previousRemaining * 0.95 ? stalledRounds + 1 : 0 }
    previousRemaining = remaining
    lastRemaining = remaining
    roundStartProcessed = processed
    roundStartElapsedMs = elapsedMs
    rounds += 1
    return round
  }

  /// The model's non-convergence rules: the round cap, the total cap (`xen`), or what remains
  /// no longer shrinking for two rounds (`qemu`).
  var notConverging: Bool {
    let convergence = settings.convergence
    if rounds >= convergence.maxRounds { return true }
    switch convergence.stopRule {
    case .xen: return lastProcessed + lastRemaining > convergence.maxTotalFactor * memory
    case .qemu: return stalledRounds >= 2
    }
  }

  mutating func raiseLimit() {
    limitRaised = true
    limitRaisedAtRound = rounds
    stalledRounds = 0
  }

  func abortReason() -> String {
    let rate = max(measuredBandwidth, 1)
    let pause = TimeSpan(seconds: lastRemaining / rate)
    return "pre-copy does not converge: after \(rounds) rounds \(ByteCount(Int64(min(lastRemaining, 9e18)))) stay "
      + "dirty, a \(pause) pause at \(Bandwidth(bytesPerSecond: rate)), over the \(settings.downtimeLimit) limit"
  }

  /// The figures of the completed migration, from the destination's completed job.
  func result(_ completed: LibvirtJob?) -> TransferResult {
    let iterations = completed?.number(VIR_DOMAIN_JOB_MEMORY_ITERATION) ?? iteration
    return TransferResult(
      rounds: max(Int(iterations), 1),
      bytesSent: completed?.number(VIR_DOMAIN_JOB_DATA_PROCESSED) ?? lastProcessed,
      totalSeconds: (completed?.number(VIR_DOMAIN_JOB_TIME_ELAPSED) ?? 0) / 1000,
      downtimeMs: completed?.number(VIR_DOMAIN_JOB_DOWNTIME) ?? 0, throttle: throttle)
  }
}
