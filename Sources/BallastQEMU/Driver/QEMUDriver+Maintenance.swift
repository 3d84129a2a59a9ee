import BallastEngine
import BallastModel
import Foundation

extension QEMUDriver: MaintenanceControl {
  /// Marks `host` in maintenance with a `maintenance` file in its lab directory (removed to
  /// take it out), so every process using the lab sees it, like a hypervisor's own flag.
  func setMaintenanceSteps(_ on: Bool, host: String) async throws {
    guard lab.cluster.host(named: host) != nil else {
      throw DriverError(host: host, "no such host in lab \(lab.cluster.name)")
    }
    let flag = maintenanceFlag(host)
    do {
      if on {
        try Data("maintenance\n".utf8).write(to: URL(fileURLWithPath: flag))
      } else if FileManager.default.fileExists(atPath: flag) {
        try FileManager.default.removeItem(atPath: flag)
      }
    } catch {
      throw DriverError(
        host: host, "cannot change the maintenance flag \(flag): \(error.localizedDescription)",
        hint: "check the lab directory is writable")
    }
  }

  /// Whether `host` carries the maintenance flag.
  nonisolated func inMaintenance(_ host: String) -> Bool {
    FileManager.default.fileExists(atPath: maintenanceFlag(host))
  }

  nonisolated func maintenanceFlag(_ host: String) -> String { lab.layout.hostDirectory(host) + "/maintenance" }
}
