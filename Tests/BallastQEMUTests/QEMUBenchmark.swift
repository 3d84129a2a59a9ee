import BallastModel
import BallastTestSupport
import Foundation
import Testing

@testable import BallastQEMU

/// The calibration run as a script entry, not a test: it only runs with
/// `BALLAST_QEMU_BENCH=1` (`scripts/qemu-bench.sh`) and prints the table; timings are
/// never asserted.
@Suite(
  "QEMUBenchmark",
  .enabled(if: ProcessInfo.processInfo.environment["BALLAST_QEMU_BENCH"] != nil, "set BALLAST_QEMU_BENCH=1 to run"),
  .enabled(if: QEMUAvailability.installed, QEMUAvailability.reason))
struct QEMUBenchmark {
  @Test("calibration: predicted vs measured pre-copy over dirty rates × bandwidth caps")
  func calibrate() async throws {
    var settings = CalibrationSettings()
    var options = QEMULabOptions.fromEnvironment()
    options.guestSource = Repository.guestSource
    if let rates = ProcessInfo.processInfo.environment["BALLAST_BENCH_RATES"] {
      settings.dirtyRates = rates.split(separator: ",").compactMap { Double($0) }.map { .mbPerSecond($0) }
    }
    if let caps = ProcessInfo.processInfo.environment["BALLAST_BENCH_CAPS"] {
      settings.bandwidthCaps = caps.split(separator: ",").compactMap { Double($0) }.map { .mbPerSecond($0) }
    }
    if let mib = ProcessInfo.processInfo.environment["BALLAST_BENCH_WS_MIB"].flatMap(Double.init) {
      settings.workingSet = .mib(mib)
    }
    if let mib = ProcessInfo.processInfo.environment["BALLAST_BENCH_MEMORY_MIB"].flatMap(Double.init) {
      settings.vmMemory = .mib(mib)
    }
    let points = try await QEMUCalibration.run(settings, options: options, logger: testLogger) { point in
      print(QEMUCalibration.table([point]).split(separator: "\n").last ?? "")
    }
    print(QEMUCalibration.table(points))
    print(QEMUCalibration.summary(points))
    #expect(points.count == settings.dirtyRates.count * settings.bandwidthCaps.count)
  }
}
