import BallastDriverSupport
import BallastEngine
import BallastModel
import CLibvirt

/// Bookkeeping of one live migration as libvirt's job statistics show it: a pre-copy round
/// ends whenever `memory_iteration` grows; the policy's convergence rules over the rounds.
///
/// `memory_iteration` is QEMU's dirty-sync-count, already 1 through the first pass (the bitmap
/// is synced once as the migration sets up): the first round ends when it reaches 2. (Counting
/// from 0 ended a round at the first reading and cut the first pass in two: the learner then
/// took a few MB read 100 ms in as the VM's touched memory.)
struct LibvirtTransferProgress: Sendable {
  var watch: ConvergenceWatch
  private(set) var iteration: Double = 1
  private var roundStartProcessed: Double = 0
  private var roundStartElapsedMs: Double = 0
  var stopAndCopyAnnounced = false

  init(settings: LiveSettings, memory: Double, bandwidth: Double) {
    watch = ConvergenceWatch(settings: settings, memory: memory, bandwidth: bandwidth)
  }

  var lastRemaining: Double { watch.lastRemaining }

  /// Takes in a reading of the running job; returns the round that ended, if one did.
  mutating func observe(_ job: LibvirtJob) -> PreCopyRound? {
    let processed = job.number(VIR_DOMAIN_JOB_MEMORY_PROCESSED) ?? watch.transferred
    watch.observe(throttle: (job.number(VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE) ?? 0) / 100, transferred: processed)
    let current = job.number(VIR_DOMAIN_JOB_MEMORY_ITERATION) ?? iteration
    guard current > iteration else { return nil }
    iteration = current
    let remaining = job.number(VIR_DOMAIN_JOB_MEMORY_REMAINING) ?? watch.lastRemaining
    let elapsedMs = job.number(VIR_DOMAIN_JOB_TIME_ELAPSED) ?? roundStartElapsedMs
    let seconds = max((elapsedMs - roundStartElapsedMs) / 1000, 0.001)
    let sent = max(processed - roundStartProcessed, 0)
    let bandwidth = job.number(VIR_DOMAIN_JOB_MEMORY_BPS) ?? sent / seconds
    let pageSize = job.number(VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE) ?? 4096
    let dirtied = (job.number(VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE) ?? 0) * pageSize * seconds
    let round = PreCopyRound(
      index: watch.rounds, bytesSent: sent, bytesDirtied: dirtied, remaining: remaining, seconds: seconds,
      bandwidthBytesPerSecond: bandwidth, throttle: watch.throttle)
    watch.roundEnded(remaining: remaining, transferred: processed, bandwidth: bandwidth)
    roundStartProcessed = processed
    roundStartElapsedMs = elapsedMs
    return round
  }

  /// The figures of the completed migration, from the destination's completed job.
  func result(_ completed: LibvirtJob?) -> TransferResult {
    let iterations = completed?.number(VIR_DOMAIN_JOB_MEMORY_ITERATION) ?? iteration
    return TransferResult(
      rounds: max(Int(iterations), 1),
      bytesSent: completed?.number(VIR_DOMAIN_JOB_DATA_PROCESSED) ?? watch.transferred,
      totalSeconds: (completed?.number(VIR_DOMAIN_JOB_TIME_ELAPSED) ?? 0) / 1000,
      downtimeMs: completed?.number(VIR_DOMAIN_JOB_DOWNTIME) ?? 0, throttle: watch.throttle)
  }
}
