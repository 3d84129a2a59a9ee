/// A backend that can put a host in maintenance: nothing is placed on it afterwards, by any
/// command or the balancing loop, until it is taken out. Its ``Driver/inventory()`` reports
/// the host's state.
public protocol MaintenanceControl: Sendable {
  /// Puts `host` in maintenance (`true`) or takes it out (`false`).
  func setMaintenance(_ on: Bool, host: String) async throws
}

extension SimulatedDriver: MaintenanceControl {}
