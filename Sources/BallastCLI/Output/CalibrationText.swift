import BallastModel
import BallastRuntime
import Foundation

/// `ballast calibrate`'s table: one row per migration, then the errors before and after learning.
enum CalibrationText {
  static let header = """
       dirty    cap  #  learned | transfer s          | move s              | pause ms               | rounds thr
        MB/s   MB/s    figures  | pred   meas    err  | pred   meas    err  | pred  meas   err   hyp | meas    %
    """

  /// One migration's row.
  static func row(_ point: CalibrationPoint, _ m: CalibrationMigration) -> String {
    func pad(_ text: String, _ width: Int) -> String {
      String(repeating: " ", count: max(width - text.count, 0)) + text
    }
    func number(_ value: Double?, _ decimals: Int, _ width: Int) -> String {
      pad(value.map { String(format: "%.\(decimals)f", $0) } ?? "—", width)
    }
    func pct(_ value: Double?) -> String { pad(value.map { String(format: "%+.0f%%", $0 * 100) } ?? "—", 6) }
    let rate = point.dirtyRate.bytesPerSecond / 1e6
    let cap = (point.bandwidthCap?.bytesPerSecond ?? 0) / 1e6
    var text = number(rate, 1, 8) + number(cap, 0, 7) + pad(String(m.number), 3) + pad(String(m.learnedFigures), 9)
    text += "  |" + number(m.predictedTransferSeconds, 2, 6) + number(m.measuredTransferSeconds, 2, 7)
    text += pct(m.transferError) + "  |"
    text += number(m.predicted.seconds, 2, 6) + number(m.measured?.seconds, 2, 7) + pct(m.totalError) + "  |"
    text += number(m.predicted.downtimeMs, 0, 5) + number(m.measured?.downtimeMs, 0, 6)
    text += pad(m.downtimeErrorMs.map { String(format: "%+.0f", $0) } ?? "—", 6)
    text += number(m.hypervisorDowntimeMs, 0, 6) + "  |"
    text += pad(m.measured.map { String($0.rounds) } ?? "—", 5) + number(m.throttle.map { $0 * 100 }, 0, 5)
    if let failure = m.failure { text += "  failed: \(failure)" }
    return text
  }

  /// The errors of the first migrations (the static model) and of the later ones (learned).
  static func summary(_ report: CalibrationReport) -> String {
    var lines = report.machineNotes.map { "Note: \($0)" }
    lines.append("Link: \(report.linkRate) (\(report.settings.linkRate == nil ? "measured" : "given")).")
    func migrations(_ some: [CalibrationMigration]) -> String { Wording.count(some.count, "migration") }
    let first = report.migrations(number: 1)
    let later = report.learnedMigrations
    lines.append("Before learning (\(migrations(first)), the VM's description only): " + errors(first))
    if !later.isEmpty {
      lines.append("After learning (\(migrations(later))): " + errors(later))
    }
    let settled = later.filter { $0.number >= 4 }
    if !settled.isEmpty {
      lines.append("From the 4th migration on (\(migrations(settled))): " + errors(settled))
    }
    for point in report.points {
      guard let failure = point.failure else { continue }
      let cap = point.bandwidthCap.map { "a \($0) cap" } ?? "no cap"
      lines.append("Could not run \(point.dirtyRate) dirty under \(cap): \(failure)")
    }
    return lines.joined(separator: "\n")
  }

  static func errors(_ migrations: [CalibrationMigration]) -> String {
    guard !migrations.isEmpty else { return "none completed" }
    func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
    let transfer = migrations.compactMap(\.transferError).map(abs)
    let total = migrations.compactMap(\.totalError).map(abs)
    let downtime = migrations.compactMap(\.downtimeErrorMs).map(abs)
    func withinTarget(_ measured: Double?, _ error: Double?) -> Bool {
      guard let measured, let error else { return false }
      return abs(error) <= 20 || abs(error) <= 0.3 * measured
    }
    let downtimeOK = migrations.filter { withinTarget($0.measured?.downtimeMs, $0.downtimeErrorMs) }.count
    var text = String(
      format: "transfer mean |error| %.1f%% (max %.0f%%), move %.1f%% (max %.0f%%), pause %.1f ms (max %.0f ms; "
        + "%d of %d within 30%% or 20 ms",
      mean(transfer) * 100, (transfer.max() ?? 0) * 100, mean(total) * 100, (total.max() ?? 0) * 100, mean(downtime),
      downtime.max() ?? 0, downtimeOK, migrations.count)
    let hypervisor = migrations.filter { $0.hypervisorDowntimeMs != nil }
    if !hypervisor.isEmpty {
      let ok = hypervisor.filter { withinTarget($0.hypervisorDowntimeMs, $0.hypervisorDowntimeErrorMs) }.count
      text += "; of the hypervisor's own downtime, \(ok) of \(hypervisor.count)"
    }
    return text + ")"
  }
}
