import BallastEngine
import BallastLibvirt
import BallastModel
import Foundation
import Logging

/// The hypervisors of a `driver: libvirt` cluster file: each host's `uri:`, or, for a lab
/// (`labRoot:`), the sockets of the daemons `ballast lab up` started.
public enum LibvirtSession {
  /// The lab of `cluster`, read from `clusterFile` (its `labRoot` is relative to the file).
  public static func lab(cluster: Cluster, clusterFile: String, logger: Logger = quietLogger) throws -> LibvirtLab {
    try LibvirtLab(cluster: cluster, baseDirectory: folder(of: clusterFile), logger: logger)
  }

  /// The driver for the cluster's daemons.
  public static func driver(cluster: Cluster, clusterFile: String, logger: Logger = quietLogger) throws
    -> LibvirtDriver
  {
    let hosts = cluster.libvirt?.hosts ?? []
    var uris: [String: String] = [:]
    let labURIs = cluster.labRoot == nil ? [:] : try lab(cluster: cluster, clusterFile: clusterFile).layout.uris
    for host in hosts { uris[host.name] = host.uri ?? labURIs[host.name] }
    return try LibvirtDriver(cluster: cluster, uris: uris, logger: logger)
  }

  /// The inventory, after checking that the names the cluster's and the policy's rules use
  /// are VMs and hosts the daemons report.
  /// - Throws: `FileErrors` with each unknown name's file:line.
  public static func inventory(of driver: LibvirtDriver, files: ClusterFiles) async throws -> Cluster {
    let inventory = try await driver.inventory()
    let issues = ClusterFile.ruleNameIssues(path: files.clusterPath, policyPath: files.policyPath, against: inventory)
    guard issues.isEmpty else { throw FileErrors(issues) }
    return inventory
  }

  static func folder(of file: String) -> String { URL(fileURLWithPath: file).deletingLastPathComponent().path }

  public static let quietLogger = Logger(label: "ballast.libvirt", factory: { _ in SwiftLogNoOpLogHandler() })
}
