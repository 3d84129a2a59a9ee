import BallastEngine
import BallastModel
import CLibvirt
import Testing

@testable import BallastLibvirt

@Suite("Pre-copy rounds from libvirt's job statistics")
struct LibvirtTransferProgressTests {
  /// A running migration job's reading.
  static func reading(iteration: Int64, processedMB: Double, remainingMB: Double, elapsedMs: Int64) -> LibvirtJob {
    LibvirtJob(
      type: VIR_DOMAIN_JOB_UNBOUNDED.rawValue,
      figures: [
        VIR_DOMAIN_JOB_MEMORY_ITERATION: .unsigned(UInt64(iteration)),
        VIR_DOMAIN_JOB_MEMORY_PROCESSED: .unsigned(UInt64(processedMB * 1e6)),
        VIR_DOMAIN_JOB_MEMORY_REMAINING: .unsigned(UInt64(remainingMB * 1e6)),
        VIR_DOMAIN_JOB_TIME_ELAPSED: .integer(elapsedMs),
      ])
  }

  @Test("the first pass is one round: QEMU's sync count is 1 until it ends, so readings at 1 end nothing")
  func firstPassIsOneRound() throws {
    var progress = LibvirtTransferProgress(
      settings: LiveSettings(downtimeLimit: .milliseconds(50), bandwidthCap: nil, convergence: Convergence()),
      memory: 64e6, bandwidth: 32e6)
    let early = progress.observe(Self.reading(iteration: 1, processedMB: 3.25, remainingMB: 60, elapsedMs: 100))
    let later = progress.observe(Self.reading(iteration: 1, processedMB: 12, remainingMB: 30, elapsedMs: 380))
    #expect(early == nil && later == nil)
    let ended = progress.observe(Self.reading(iteration: 2, processedMB: 17, remainingMB: 1, elapsedMs: 530))
    let first = try #require(ended)
    #expect(first.index == 0)
    #expect(abs(first.bytesSent - 17e6) < 1, "the whole first pass: \(first.bytesSent)")
    #expect(abs(first.seconds - 0.53) < 1e-9)
    let next = progress.observe(Self.reading(iteration: 3, processedMB: 18, remainingMB: 0.2, elapsedMs: 560))
    let second = try #require(next)
    #expect(second.index == 1)
    #expect(abs(second.bytesSent - 1e6) < 1)
    let same = progress.observe(Self.reading(iteration: 3, processedMB: 18.1, remainingMB: 0.1, elapsedMs: 570))
    #expect(same == nil)
  }
}
