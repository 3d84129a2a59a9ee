import BallastEngine
import BallastModel
import Foundation
import Logging

/// The ``Driver`` for hosts reached through libvirt: inventory, load, migrations and recovery
/// through libvirt's C API, one connection per host.
///
/// Hosts, VMs, placement, state, CPU models and disks come live from the daemons at every
/// inventory; load comes from one bulk statistics call per host (`virConnectGetAllDomainStats`):
/// CPU from `cpu.time` deltas, memory from the balloon figures. The cluster file's entries
/// override or add what libvirt does not know (``LibvirtSettings``).
///
/// Live migrations are atomic in libvirt: one `virDomainMigrate3` (or, peer-to-peer,
/// `virDomainMigrateToURI3`) call runs pre-copy, stop-and-copy and libvirt's confirm step,
/// with `LIVE | PERSIST_DEST | UNDEFINE_SOURCE | PAUSED`, so that activation (resuming the
/// paused destination) stays the engine's stage 5. Cold migrations shut the guest down, copy
/// disks the destination cannot see as storage volumes (verified by SHA-256), define the
/// domain there with the new paths, and only then undefine it and delete its volumes on the
/// source. Every libvirt call runs on a thread of its own, off Swift's cooperative pool.
public actor LibvirtDriver: Driver, MaintenanceControl {
  /// The cluster as its file describes it (name, declared datastores, rules, settings).
  public nonisolated let declared: Cluster
  public nonisolated let settings: LibvirtSettings
  /// Each host's connection URI.
  public nonisolated let uris: [String: String]
  public nonisolated let options: LibvirtDriverOptions
  let logger: Logger
  /// How long `reconcile` waits for a migration libvirt still runs on its own to end.
  let settleLimit = Duration.seconds(60)
  var connections: [String: LibvirtConnection] = [:]
  var hostCPUs: [String: HostDescription] = [:]
  var descriptions: [String: [String: (state: UInt32, description: DomainDescription)]] = [:]
  /// Previous CPU time of each running domain, by `vm@host`: (nanoseconds, monotonic seconds).
  var cpuSamples: [String: (cpuTime: Double, at: Double)] = [:]
  /// Expanded feature lists of CPU models Ballast's table does not know, by host and model.
  var expandedFeatures: [String: [String]] = [:]
  var maintenance: Set<String> = []
  /// Per reservation token, when libvirt's migration call returned and the downtime libvirt
  /// measured until its Finish: the guest stays paused from there until activation resumes it.
  var switchoverEnds: [String: (at: ContinuousClock.Instant, downtime: Double)] = [:]
  /// The guest's outage of each activated live move (by reservation token), until asked.
  var outages: [String: Double] = [:]

  /// A driver for `cluster` (a `driver: libvirt` file); `uris` gives each host's URI (the
  /// file's `uri:`, or the lab's socket).
  public init(
    cluster: Cluster, uris: [String: String], options: LibvirtDriverOptions = LibvirtDriverOptions(), logger: Logger
  ) throws {
    guard let settings = cluster.libvirt else {
      throw DriverError("cluster \(cluster.name) is not a libvirt cluster (driver: libvirt)")
    }
    for host in settings.hosts where uris[host.name] == nil {
      throw DriverError(host: host.name, "no libvirt URI for this host", hint: "give it uri: in the cluster file")
    }
    self.declared = cluster
    self.settings = settings
    self.uris = uris
    self.options = options
    self.logger = logger
  }

  /// Host names in file order.
  nonisolated var hostNames: [String] { settings.hosts.map(\.name) }

  /// libvirt's migration call runs pre-copy, stop-and-copy and its own confirm step at once:
  /// when it returns, the source is gone and the destination holds the VM, paused.
  public nonisolated var switchover: SwitchoverStyle { .atomic }

  // MARK: Connections

  /// The open connection to `host`'s daemon, opened (or reopened, when it broke) on demand.
  func connection(_ host: String, vm: String? = nil) async throws -> LibvirtConnection {
    if let open = connections[host], open.isAlive { return open }
    guard let uri = uris[host] else {
      throw DriverError(vm: vm, host: host, "no such host in cluster \(declared.name)", hint: "hosts: \(hostNames)")
    }
    do {
      let opened = try await Libvirt.run("connect") { try LibvirtConnection.open(uri) }
      connections[host] = opened
      return opened
    } catch {
      throw DriverError(
        vm: vm, host: host, "cannot reach the libvirt daemon at \(uri): \(error)",
        hint: "check the host is up, libvirtd runs there and this user may connect (SSH keys, TLS, polkit)",
        kind: .unreachable)
    }
  }

  /// Runs `body` with `host`'s connection on a thread of its own; libvirt's failures become
  /// ``DriverError``s naming the VM, the host and what was being done.
  func onHost<T: Sendable>(
    _ host: String, vm: String? = nil, _ what: String, _ body: @escaping @Sendable (LibvirtConnection) throws -> T
  ) async throws -> T {
    let connection = try await connection(host, vm: vm)
    do {
      return try await Libvirt.run(what) { try body(connection) }
    } catch let error as DriverError {
      throw error
    } catch let failure as LibvirtFailure {
      if failure.isConnectionProblem { connections[host] = nil }
      throw DriverError(vm: vm, host: host, "\(what) failed: \(failure)", kind: failure.kind)
    } catch {
      throw DriverError(vm: vm, host: host, "\(what) failed: \(error)")
    }
  }

  /// The name the daemon at `uri` gives its host.
  public static func hostname(uri: String) async throws -> String {
    try await Libvirt.run("reading the hostname") { try LibvirtConnection.open(uri).hostname() }
  }

  // MARK: Maintenance

  /// Puts `host` in maintenance (or takes it out) for this process; the history database
  /// keeps it across processes.
  public func setMaintenance(_ on: Bool, host: String) async throws {
    guard uris[host] != nil else { throw DriverError(host: host, "no such host in cluster \(declared.name)") }
    if on { maintenance.insert(host) } else { maintenance.remove(host) }
  }

  // MARK: Locate

  public func locate(vm: String) async throws -> [VMPlacement] {
    try await findings(of: vm, allJobs: false).map(\.placement)
  }

  /// ``locate(vm:)`` once no migration job of `vm` runs on any host (peer-to-peer, the source's
  /// daemon finishes a migration whose client died), waiting at most ``settleLimit``; after that
  /// it says what it found, and the reconciler's rules for a job still running apply.
  public func locateSettled(vm: String) async throws -> [VMPlacement] {
    let deadline = ContinuousClock.now + settleLimit
    var findings = try await findings(of: vm, allJobs: true)
    var announced = ""
    while findings.contains(where: \.migrating), ContinuousClock.now < deadline {
      let hosts = findings.filter(\.migrating).map(\.placement.host).joined(separator: ", ")
      if hosts != announced {  // once per change, not every half second
        announced = hosts
        logger.notice(
          "a migration of the VM is still running on \(hosts): waiting for libvirt to finish it before deciding",
          metadata: ["vm": "\(vm)"])
      }
      try await Task.sleep(for: .milliseconds(500))
      findings = try await self.findings(of: vm, allJobs: true)
    }
    return findings.map(\.placement)
  }

  /// Each host's copy of `vm`, and whether a migration job of it runs there. A domain that
  /// disappears between its lookup and its state (a migration just gave the source up) is not
  /// there. Jobs are read for paused copies (an incoming destination), or for every copy when
  /// `allJobs` (a running source migrating out): one more call per host.
  private func findings(
    of vm: String, allJobs: Bool
  ) async throws -> [(placement: VMPlacement, migrating: Bool)] {
    var found: [(placement: VMPlacement, migrating: Bool)] = []
    for host in hostNames {
      let status: DomainStatus? = try await onHost(host, vm: vm, "looking for the VM") { connection in
        guard let domain = try connection.domain(named: vm) else { return nil }
        do {
          let (state, reason) = try domain.state()
          var status = DomainStatus(state: state, reason: reason, job: nil)
          if allJobs || status.isPaused { status.job = try? domain.jobStats() }
          return status
        } catch let failure as LibvirtFailure where failure.isNoDomain {
          return nil
        }
      }
      if let status {
        let migrating = status.job.map { $0.isRunning && ($0.isIncomingMigration || $0.isOutgoingMigration) } ?? false
        found.append((VMPlacement(host: host, state: status.placement), migrating))
      }
    }
    return found
  }
}
