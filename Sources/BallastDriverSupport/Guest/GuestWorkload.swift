import BallastModel

/// How the test guest loads its VM: the kernel command line of `guest/kernel.c`.
public struct GuestWorkload: Sendable, Hashable, Codable {
  /// Memory the guest rewrites page by page, in bytes (`ws=`).
  public var workingSetBytes: Int64
  /// Bytes dirtied per second (`rate=`); `nil` dirties as fast as the vCPU can.
  public var dirtyBytesPerSecond: Int64?
  /// Percent of each 100 ms the vCPU is busy (`duty=`); the rest it halts.
  public var dutyPercent: Int
  /// Bytes filled with non-zero data at boot (`fill=`), so pre-copy has real pages to send.
  public var fillBytes: Int64

  public init(workingSetBytes: Int64, dirtyBytesPerSecond: Int64?, dutyPercent: Int, fillBytes: Int64 = 0) {
    self.workingSetBytes = workingSetBytes
    self.dirtyBytesPerSecond = dirtyBytesPerSecond
    self.dutyPercent = min(max(dutyPercent, 0), 100)
    self.fillBytes = fillBytes
  }

  /// An idle guest: nothing dirtied, vCPU halted.
  public static let idle = GuestWorkload(workingSetBytes: 0, dirtyBytesPerSecond: 0, dutyPercent: 0)

  /// The workload a cluster file's VM describes: its working set, dirty rate and CPU usage.
  /// A VM that dirties memory needs CPU to do it, so the duty cycle is at least 10 %.
  public init(vm: VM) {
    let rate = Int64(vm.dirtyRate.bytesPerSecond.rounded())
    var duty = Int((vm.usage.cpu * 100).rounded())
    if rate > 0 { duty = max(duty, 10) }
    self.init(
      workingSetBytes: vm.workingSet.bytes, dirtyBytesPerSecond: rate, dutyPercent: duty,
      fillBytes: vm.workingSet.bytes)
  }

  /// The kernel command line (`-append`).
  public var commandLine: String {
    let rate = dirtyBytesPerSecond.map { String($0) } ?? "max"
    return "ws=\(workingSetBytes) rate=\(rate) duty=\(dutyPercent) fill=\(fillBytes)"
  }
}
