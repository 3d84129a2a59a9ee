import BallastEngine
import BallastLibvirt
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
    case .libvirt:
      if let statePath {
        throw RuntimeError(
          .badSetting,
          "--state \(statePath) applies to simulated clusters; \(cluster.name) is a libvirt cluster, whose state is "
            + "its hypervisors'")
      }
      return .hypervisors(try LibvirtSession.driver(cluster: cluster, clusterFile: clusterFile))
    }
  }

  /// The cluster as its hypervisors hold it now: for a simulated cluster the file itself (it
  /// is the simulated hypervisors' starting state); otherwise the driver's inventory (where
  /// each VM runs now, its measured load). For a libvirt cluster the names the rules of the
  /// cluster file and of `policyFile` use are checked against the inventory.
  public static func currentCluster(
    _ cluster: Cluster, clusterFile: String, policyFile: String? = nil
  ) async throws
    -> Cluster
  {
    switch try backend(for: cluster, clusterFile: clusterFile, statePath: nil) {
    case .simulated: return cluster
    case .hypervisors(let driver as LibvirtDriver):
      return try await LibvirtSession.inventory(
        of: driver, files: ClusterFiles(cluster: clusterFile, policy: policyFile))
    case .hypervisors(let driver): return try await driver.inventory()
    }
  }
}
