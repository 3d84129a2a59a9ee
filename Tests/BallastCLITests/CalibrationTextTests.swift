import BallastModel
import BallastRuntime
import Foundation
import Testing

@testable import BallastCLI

@Suite("calibrate's summary")
struct CalibrationTextTests {
  /// A report of one point that could not run, as `calibrate --json` writes it.
  static func failedReport(_ failure: String) throws -> CalibrationReport {
    let encoder = JSONEncoder()
    func json<T: Encodable>(_ value: T) throws -> Any {
      try JSONSerialization.jsonObject(with: encoder.encode(value), options: [.fragmentsAllowed])
    }
    let report: [String: Any] = [
      "lab": "lab", "driver": "libvirt", "settings": try json(CalibrationSettings()),
      "linkRate": try json(Bandwidth.mbPerSecond(1000)), "machineNotes": [String](),
      "points": [
        [
          "dirtyRate": try json(Bandwidth.mbPerSecond(4)), "bandwidthCap": try json(Bandwidth.mbPerSecond(32)),
          "migrations": [Any](), "failure": failure,
        ]
      ],
    ]
    let data = try JSONSerialization.data(withJSONObject: report)
    return try JSONDecoder().decode(CalibrationReport.self, from: data)
  }

  @Test("a point that could not run is named, with the reason")
  func failedPointSaysWhy() throws {
    let reason = "internal error: UNIX socket path '/var/tmp/x/monitor.sock' too long"
    let summary = CalibrationText.summary(try Self.failedReport(reason))
    #expect(summary.contains("Before learning (0 migrations, the VM's description only): none completed"), "\(summary)")
    let line = try #require(summary.split(separator: "\n").first { $0.hasPrefix("Could not run") })
    #expect(line.contains("4MB/s") && line.contains("32MB/s") && line.hasSuffix(reason), "\(line)")
  }
}
