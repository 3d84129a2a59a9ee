import BallastModel

/// A load change for the running test guest: the keys of its kernel command line it also
/// accepts on its control port.
public struct GuestLoadChange: Sendable, Hashable {
  /// Percent of each 100 ms the vCPU is busy, 0…100.
  public var dutyPercent: Int?
  /// Bytes dirtied per second.
  public var dirtyRate: Bandwidth?
  /// Memory rewritten page by page.
  public var workingSet: ByteCount?

  public init(dutyPercent: Int? = nil, dirtyRate: Bandwidth? = nil, workingSet: ByteCount? = nil) {
    self.dutyPercent = dutyPercent.map { min(max($0, 0), 100) }
    self.dirtyRate = dirtyRate
    self.workingSet = workingSet
  }

  /// The line the guest reads (`duty=90 rate=8000000 ws=4194304\n`); the guest takes 32-bit
  /// values, so rates and sizes are capped at 4 GiB − 1.
  public var controlLine: String {
    var tokens: [String] = []
    if let dutyPercent { tokens.append("duty=\(dutyPercent)") }
    if let dirtyRate { tokens.append("rate=\(Self.guestValue(dirtyRate.bytesPerSecond))") }
    if let workingSet { tokens.append("ws=\(Self.guestValue(Double(workingSet.bytes)))") }
    return tokens.joined(separator: " ") + "\n"
  }

  /// `workload` with this change applied.
  public func applied(to workload: GuestWorkload) -> GuestWorkload {
    var workload = workload
    if let dutyPercent { workload.dutyPercent = dutyPercent }
    if let dirtyRate { workload.dirtyBytesPerSecond = Self.guestValue(dirtyRate.bytesPerSecond) }
    if let workingSet { workload.workingSetBytes = Self.guestValue(Double(workingSet.bytes)) }
    return workload
  }

  static func guestValue(_ value: Double) -> Int64 {
    Int64(min(max(value.rounded(), 0), Double(UInt32.max)))
  }
}
