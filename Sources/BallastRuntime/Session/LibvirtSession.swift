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
  public static func driver(
    cluster: Cluster, clusterFile: String, logger: Logger = quietLogger
  ) throws
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

extension LibvirtSession {
  /// What `ballast discover` found.
  public struct Discovery: Sendable {
    /// The cluster as a `driver: simulated` snapshot: hosts, datastores, VMs and their usage now.
    public var snapshot: Cluster
    /// Problems the snapshot's validation reports (e.g. memory allocated beyond a host's).
    public var issues: [FileIssue]
    public var seconds: Double
  }

  /// Reads the hosts of `cluster` (a `driver: libvirt` file) and returns them as a snapshot a
  /// simulated cluster file can hold, so a real cluster can be planned, explained and simulated
  /// offline.
  public static func discover(
    cluster: Cluster, clusterFile: String, logger: Logger = quietLogger
  ) async throws
    -> Discovery
  {
    let started = ContinuousClock.now
    let driver = try driver(cluster: cluster, clusterFile: clusterFile, logger: logger)
    let snapshot = snapshot(of: try await driver.inventory())
    let issues: [FileIssue]
    do {
      _ = try ClusterFile.parse(ClusterWriter.yaml(snapshot), file: "discovered")
      issues = []
    } catch let errors as FileErrors {
      issues = errors.issues
    }
    let elapsed = ContinuousClock.now - started
    return Discovery(
      snapshot: snapshot, issues: issues,
      seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
  }

  /// `inventory` as a simulated cluster: the hypervisors' state now as a simulation's start.
  public static func snapshot(of inventory: Cluster) -> Cluster {
    var snapshot = inventory
    snapshot.driver = .simulated
    snapshot.labRoot = nil
    snapshot.libvirt = nil
    for i in snapshot.vms.indices { snapshot.vms[i].samples = [] }
    return snapshot
  }

  /// A `driver: libvirt` cluster of the hosts at `uris`, named after what each daemon calls
  /// its host (made unique), for `discover --uri`.
  public static func cluster(named name: String, uris: [String]) async throws -> Cluster {
    var hosts: [LibvirtHost] = []
    var taken: Set<String> = []
    for (i, uri) in uris.enumerated() {
      if let problem = LibvirtURICheck.problem(uri) { throw RuntimeError(.badSetting, "--uri \(uri): \(problem)") }
      let reported = (try? await LibvirtDriver.hostname(uri: uri)) ?? "host-\(i + 1)"
      var candidate = reported
      var n = 2
      while taken.contains(candidate) {
        candidate = "\(reported)-\(n)"
        n += 1
      }
      taken.insert(candidate)
      hosts.append(LibvirtHost(name: candidate, uri: uri))
    }
    return Cluster(
      name: name, driver: .libvirt, datastores: [], hosts: [], vms: [], libvirt: LibvirtSettings(hosts: hosts))
  }
}
