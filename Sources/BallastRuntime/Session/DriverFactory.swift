import BallastEngine
import BallastModel

/// The one place where a cluster file's `driver:` kind becomes a ``Driver``: a new backend is
/// one more case in ``backend(for:clusterFile:statePath:)``.
public enum DriverFactory {
  /// What runs a cluster's VMs.
  public enum Backend: Sendable {
    /// Simulated hypervisors: the cluster file (or a `--state` file) is their state, and
    /// ``ClusterSession`` makes the ``SimulatedDriver`` from it (see ``SimulatedCluster``).
    case simulated
    /// Real hypervisors behind this driver; the cluster is what its inventory says now.
    case hypervisors(any Driver)
  }

  /// The backend of `cluster`, read from `clusterFile` (a lab's paths are relative to it).
  /// `statePath` (a simulated cluster's state file) is refused for real hypervisors, whose
  /// state is their own.
  /// - Throws: ``RuntimeError`` for a setting that does not apply; the driver's own errors.
  public static func backend(for cluster: Cluster, clusterFile: String, statePath: String?) throws -> Backend {
    switch cluster.driver {
    case .simulated:
      return .simulated
    case .qemu:
      if let statePath {
        throw RuntimeError(
          .badSetting,
          "--state \(statePath) applies to simulated clusters; \(cluster.name) is a QEMU lab, whose state is its "
            + "folders and processes (see `ballast lab up`)")
      }
      return .hypervisors(try QEMULabSession.driver(cluster: cluster, clusterFile: clusterFile))
    }
  }

  /// The cluster as its hypervisors hold it now: for a simulated cluster the file itself (it
  /// is the simulated hypervisors' starting state); otherwise the driver's inventory (where
  /// each VM runs now, its measured load).
  public static func currentCluster(_ cluster: Cluster, clusterFile: String) async throws -> Cluster {
    switch try backend(for: cluster, clusterFile: clusterFile, statePath: nil) {
    case .simulated: cluster
    case .hypervisors(let driver): try await driver.inventory()
    }
  }
}
