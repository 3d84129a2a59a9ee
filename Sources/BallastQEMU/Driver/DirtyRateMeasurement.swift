import BallastEngine
import Foundation

/// A VM's dirty rate as QEMU measured it (`calc-dirty-rate` in page-sampling mode).
///
/// QEMU hashes a sample of pages before and after the period and scales the share that
/// changed to the whole memory, so a page rewritten many times counts once: a guest that
/// rewrites a small working set faster than once per period shows about working set ÷ period.
/// (Page sampling works under TCG; QEMU 7.2's dirty-bitmap mode crashes without KVM.)
public struct DirtyRateMeasurement: Sendable, Hashable, Codable {
  public var vm: String
  public var host: String
  /// Bytes dirtied per second (QEMU reports whole MiB/s).
  public var bytesPerSecond: Double
  public var seconds: Double
  /// `page-sampling` (the mode used).
  public var mode: String
}

extension QEMUDriver {
  /// Pages sampled per GiB of guest memory: QEMU's most, so small lab VMs get enough samples.
  static let samplePagesPerGiB: Int64 = 16384

  /// Measures how fast `vm` dirties memory now, over `seconds` (QMP `calc-dirty-rate`, then
  /// `query-dirty-rate`); the figure is kept and reported by ``inventory()`` as the VM's
  /// dirty rate, for the cost model.
  func measureDirtyRateSteps(vm: String, seconds: Int) async throws -> DirtyRateMeasurement {
    guard let host = lab.hostDefining(vm) else {
      throw DriverError(vm: vm, "the VM is not defined on any lab host")
    }
    let instance = try requireInstance(vm, on: host, role: "VM's")
    let qmp = try await client(instance)
    let period = max(seconds, 1)
    do {
      try await qmp.execute(
        "calc-dirty-rate",
        ["calc-time": .int(Int64(period)), "mode": "page-sampling", "sample-pages": .int(Self.samplePagesPerGiB)])
    } catch let error as QMPError where error.isFromQEMU {
      throw DriverError(vm: vm, host: host, "QEMU cannot measure the dirty rate: \(error.message)")
    }
    let deadline = Date().addingTimeInterval(Double(period) + 15)
    while Date() < deadline {
      try await Task.sleep(for: .milliseconds(200))
      let info = try await qmp.execute("query-dirty-rate")
      guard DirtyRateStatus(rawValue: info["status"]?.string ?? "") == .measured else { continue }
      let mibPerSecond = info["dirty-rate"]?.double ?? 0
      let measurement = DirtyRateMeasurement(
        vm: vm, host: host, bytesPerSecond: mibPerSecond * 1_048_576, seconds: Double(period),
        mode: info["mode"]?.string ?? "page-sampling")
      measuredDirtyRates[vm] = measurement
      return measurement
    }
    throw DriverError(vm: vm, host: host, "QEMU did not finish measuring the dirty rate in time")
  }
}
