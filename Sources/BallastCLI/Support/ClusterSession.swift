import BallastEngine
import BallastHistory
import BallastModel
import Logging

/// Everything a command that moves VMs needs: the validated files, the driver for the
/// cluster's backend, its clock, and the history store (the engine's journal).
struct ClusterSession {
  var cluster: Cluster
  var policy: Policy
  var driver: any Driver
  var clock: any EngineClock
  /// Set when the cluster is simulated (the file is the hypervisors' state).
  var simulated: SimulatedDriver?
  var store: HistoryStore

  /// Loads the files, opens (creating) the history database and makes the driver.
  /// `statePath` keeps a simulated cluster's state in a file, written through.
  static func open(files: ClusterOptions, database: DatabaseOptions, statePath: String?) throws -> ClusterSession {
    let (cluster, policy) = try files.load()
    let store = try database.openStore()
    switch cluster.driver {
    case .simulated:
      let runner = PlanRunner(cluster: cluster, policy: policy, json: false, statePath: statePath, pace: nil)
      let driver = try runner.makeDriver()
      return ClusterSession(
        cluster: cluster, policy: policy, driver: driver, clock: driver.clock, simulated: driver, store: store)
    case .qemu:
      throw DriverError(
        "cluster \(cluster.name) uses the qemu driver, which this command cannot run yet",
        hint: "use a simulated cluster file (driver: simulated)")
    }
  }

  /// Finishes or rolls back migrations a previous process left in flight (see `Reconciler`).
  /// Returns what it did; throws when the journal cannot be read.
  func reconcile(logger: Logger) async throws -> [ReconcileResult] {
    let clock = self.clock
    return try await Reconciler(journal: store, driver: driver, now: { clock.now() }, logger: logger).run()
  }
}
