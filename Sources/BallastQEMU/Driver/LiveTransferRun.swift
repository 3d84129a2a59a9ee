import BallastEngine
import BallastModel

/// Bookkeeping of one live transfer as `query-migrate` shows it: rounds from QEMU's
/// dirty-bitmap syncs, and the convergence rules of the pre-copy model.
struct LiveTransferRun: Sendable {
  let settings: LiveSettings
  let memory: Double
  let bandwidth: Double
  /// Syncs seen so far (1 after setup; each later one ends a pre-copy round).
  private(set) var syncs: Int64 = 1
  private var roundStartTransferred: Int64 = 0
  private var roundStartMs: Int64 = 0
  private var previousRemaining = Double.infinity
  private var stalledRounds = 0
  private(set) var lastRemaining: Double = 0
  private(set) var lastTransferred: Int64 = 0
  private(set) var measuredBandwidth: Double = 0
  /// Highest auto-converge throttle seen, 0…1.
  private(set) var throttle: Double = 0
  var stopAndCopyAnnounced = false
  var limitRaised = false
  private(set) var limitRaisedAtRound = 0

  init(settings: LiveSettings, memory: Double, bandwidth: Double) {
    self.settings = settings
    self.memory = memory
    self.bandwidth = bandwidth
  }

  /// Pre-copy rounds reported so far.
  private(set) var rounds = 0

  /// Takes in a `query-migrate` reading; returns the round that ended, if a sync happened.
  ///
  /// QEMU syncs its dirty bitmap once at setup, at the end of each round that is followed by
  /// another round or by the decision to stop, and once more inside the final copy (status
  /// `device`/`completed`), which belongs to the stop-and-copy, not to a round.
  mutating func observe(_ info: MigrationInfo) -> PreCopyRound? {
    throttle = max(throttle, Double(info.throttlePercent) / 100)
    lastTransferred = info.transferred
    let roundSyncs = Self.roundSyncs(info)
    guard roundSyncs > syncs else { return nil }
    syncs = roundSyncs
    return endRound(info, index: Int(roundSyncs) - 2)
  }

  /// Called when the source stops for the final copy: reports the last round when it ended
  /// without a sync (QEMU stops straight after round 0 when it fits in the first 100 ms).
  mutating func closeRounds(_ info: MigrationInfo) -> PreCopyRound? {
    let expected = max(Int(Self.roundSyncs(info)) - 1, 1)
    guard rounds < expected else { return nil }
    return endRound(info, index: expected - 1)
  }

  private static func roundSyncs(_ info: MigrationInfo) -> Int64 {
    let inFinalCopy = info.status == .device || info.status == .completed
    return inFinalCopy ? info.dirtySyncCount - 1 : info.dirtySyncCount
  }

  private mutating func endRound(_ info: MigrationInfo, index: Int) -> PreCopyRound {
    let now = info.totalTimeMs ?? roundStartMs
    let seconds = max(Double(now - roundStartMs) / 1000, 0.001)
    let sent = Double(info.transferred - roundStartTransferred)
    let remaining = Double(info.remaining)
    measuredBandwidth = sent / seconds
    let round = PreCopyRound(
      index: index, bytesSent: sent, bytesDirtied: remaining, remaining: remaining, seconds: seconds,
      bandwidthBytesPerSecond: measuredBandwidth, throttle: Double(info.throttlePercent) / 100)
    if rounds > 0 {
      stalledRounds = remaining >= previousRemaining * 0.95 ? stalledRounds + 1 : 0
    }
    previousRemaining = remaining
    lastRemaining = remaining
    roundStartTransferred = info.transferred
    roundStartMs = now
    rounds = index + 1
    return round
  }

  /// The model's non-convergence rules: the round cap, the total cap (`xen`), or what
  /// remains no longer shrinking for two rounds (`qemu`).
  var notConverging: Bool {
    let convergence = settings.convergence
    if rounds >= convergence.maxRounds { return true }
    switch convergence.stopRule {
    case .xen: return Double(lastTransferred) + lastRemaining > convergence.maxTotalFactor * memory
    case .qemu: return stalledRounds >= 2
    }
  }

  mutating func raiseLimit(at round: Int) {
    limitRaised = true
    limitRaisedAtRound = round
    stalledRounds = 0
  }

  func abortReason() -> String {
    let rate = measuredBandwidth > 0 ? measuredBandwidth : bandwidth
    let pause = TimeSpan(seconds: lastRemaining / max(rate, 1))
    return "pre-copy does not converge: after \(rounds) rounds \(ByteCount(Int64(lastRemaining))) stay dirty, "
      + "a \(pause) pause at \(Bandwidth(bytesPerSecond: rate)), over the \(settings.downtimeLimit) limit"
  }

  /// The figures of the completed migration.
  func result(_ info: MigrationInfo) -> TransferResult {
    TransferResult(
      rounds: Int(max(info.dirtySyncCount - 2, 1)), bytesSent: Double(info.transferred),
      totalSeconds: Double(info.totalTimeMs ?? 0) / 1000, downtimeMs: Double(info.downtimeMs ?? 0),
      throttle: throttle)
  }
}
