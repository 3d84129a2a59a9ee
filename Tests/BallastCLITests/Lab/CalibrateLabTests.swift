import BallastRuntime
import BallastTestSupport
import Foundation
import Testing

@testable import BallastCLI

/// `ballast calibrate` on a real QEMU lab: one point of the grid, its VM migrated back and
/// forth, each prediction next to what QEMU and the engine measured.
@Suite(
  "calibrate on a QEMU lab", .serialized, .enabled(if: QEMUAvailability.installed, QEMUAvailability.reason),
  .timeLimit(.minutes(20)))
struct CalibrateLabTests {
  @Test("one point, four migrations: predicted and measured per move, learned figures after the first, both pauses")
  func onePointLearns() async throws {
    let hosts = [LabWorkspace.host("host-a", local: "local-a"), LabWorkspace.host("host-b", local: "local-b")]
    // The calibration runs throwaway copies of the lab; the lab's own VM stays stopped.
    let vms = [LabWorkspace.vm("idle", on: "host-a", state: "stopped")]
    try await LabWorkspace.with(hosts: hosts, vms: vms, policy: LabPolicies.fast(threshold: 0.2)) { lab in
      let run = try await lab.run(
        ["calibrate"] + LabWorkspace.labFiles + [
          "--rates", "8", "--caps", "64", "--migrations", "4", "--link", "1GB/s", "--json",
        ])
      try #require(run.status == 0, "\(run.stdout) \(run.stderr)")
      let report = try JSONDecoder().decode(CalibrationReport.self, from: Data(run.stdout.utf8))
      #expect(report.linkRate.bytesPerSecond == 1e9, "--link is taken as given")
      let point = try #require(report.points.first)
      #expect(report.points.count == 1 && point.failure == nil, "\(point.failure ?? "")")
      #expect(point.migrations.map(\.number) == [1, 2, 3, 4])
      #expect(point.migrations.map(\.from) == ["host-a", "host-b", "host-a", "host-b"], "back and forth")
      #expect(point.migrations.first?.learnedFigures == 0, "the first is predicted from the description only")
      for migration in point.migrations {
        let measured = try #require(migration.measured, "#\(migration.number): \(migration.failure ?? "")")
        #expect(measured.seconds > 0 && measured.bytes > 0 && migration.predicted.seconds > 0)
        #expect(!migration.rounds.isEmpty, "QEMU's rounds are recorded")
        let hypervisor = try #require(migration.hypervisorDowntimeMs, "QEMU's own downtime is kept")
        #expect(hypervisor > 0 && hypervisor <= measured.downtimeMs, "the guest's outage includes QEMU's downtime")
        if migration.number > 1 {
          #expect(migration.learnedFigures > 0, "#\(migration.number) uses what the earlier ones taught")
        }
      }
      // The operator's summary, as the command prints it after the table.
      let summary = CalibrationText.summary(report)
      #expect(summary.contains("Before learning (1 migration,"), "\(summary)")
      #expect(summary.contains("After learning (3 migrations)"), "\(summary)")
      #expect(summary.contains("From the 4th migration on (1 migration)"), "\(summary)")
      #expect(summary.contains("of the hypervisor's own downtime"), "\(summary)")
      let pauseColumns = CalibrationText.row(point, point.migrations[0]).split(separator: "|")[3]
      #expect(pauseColumns.split(separator: " ").count == 4, "pause: predicted, measured, error, hypervisor's")
    }
  }
}
