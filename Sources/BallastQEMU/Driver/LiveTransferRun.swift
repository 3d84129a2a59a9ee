import BallastDriverSupport
import BallastEngine
import BallastModel

/// Bookkeeping of one live transfer as `query-migrate` shows it: rounds from QEMU's
/// dirty-bitmap syncs, and the convergence rules of the pre-copy model.
struct LiveTransferRun: Sendable {
  /// The policy's convergence rules over the rounds.
  var watch: ConvergenceWatch
  /// Syncs seen so far (1 after setup; each later one ends a pre-copy round).
  private(set) var syncs: Int64 = 1
  private var roundStartTransferred: Int64 = 0
  private var roundStartMs: Int64 = 0
  var stopAndCopyAnnounced = false
  /// Whether `migrate-continue` was sent: QEMU leaves `pre-switchover` a moment after it
  /// answers, so a reading taken in between still shows that state.
  private(set) var switchoverContinued = false

  init(settings: LiveSettings, memory: Double, bandwidth: Double) {
    watch = ConvergenceWatch(settings: settings, memory: memory, bandwidth: bandwidth)
  }

  /// Pre-copy rounds reported so far.
  var rounds: Int { watch.rounds }
  /// Highest auto-converge throttle seen, 0…1.
  var throttle: Double { watch.throttle }

  /// Whether to send `migrate-continue` for the reading `status`: once, at the first
  /// `pre-switchover`. A second one, sent because a reading still showed that state, finds
  /// QEMU in `device` or `completed` and fails the migration.
  mutating func continuesSwitchover(at status: QEMUMigrationStatus) -> Bool {
    guard status == .preSwitchover, !switchoverContinued else { return false }
    switchoverContinued = true
    return true
  }

  /// Takes in a `query-migrate` reading; returns the round that ended, if a sync happened.
  ///
  /// QEMU syncs its dirty bitmap once at setup, at the end of each round that is followed by
  /// another round or by the decision to stop, and once more inside the final copy (status
  /// `device`/`completed`), which belongs to the stop-and-copy, not to a round.
  mutating func observe(_ info: MigrationInfo) -> PreCopyRound? {
    watch.observe(throttle: Double(info.throttlePercent) / 100, transferred: Double(info.transferred))
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
    var sent = Double(info.transferred - roundStartTransferred)
    if index == 0, info.duplicatePages > 0 {
      sent = min(sent, Self.firstPassBytes(info))
    }
    let remaining = Double(info.remaining)
    let bandwidth = sent / seconds
    let round = PreCopyRound(
      index: index, bytesSent: sent, bytesDirtied: remaining, remaining: remaining, seconds: seconds,
      bandwidthBytesPerSecond: bandwidth, throttle: Double(info.throttlePercent) / 100)
    watch.roundEnded(
      remaining: remaining, transferred: Double(info.transferred), bandwidth: bandwidth, roundsSoFar: index + 1)
    roundStartTransferred = info.transferred
    roundStartMs = now
    return round
  }

  /// What the first pass sent: every page once, the written ones whole, the zero ones as a
  /// 9-byte header. Read after the first sync, `transferred` already counts the next round's
  /// first burst (under a cap, QEMU spends the rest of the window's share at once, before
  /// `query-migrate` answers); the zero pages are all counted by then, and later rounds send
  /// (almost) none.
  static func firstPassBytes(_ info: MigrationInfo) -> Double {
    let zero = Double(info.duplicatePages) * Double(max(info.pageSize, 1))
    return max(Double(info.total) - zero, 0) + zero * PreCopyRun.zeroPageCost
  }

  /// The figures of the completed migration.
  func result(_ info: MigrationInfo) -> TransferResult {
    TransferResult(
      rounds: Int(max(info.dirtySyncCount - 2, 1)), bytesSent: Double(info.transferred),
      totalSeconds: Double(info.totalTimeMs ?? 0) / 1000, downtimeMs: Double(info.downtimeMs ?? 0),
      throttle: throttle)
  }
}
