import BallastEngine
import BallastHistory
import BallastLibvirt
import BallastModel
import Foundation
import Logging

/// Everything a command that moves VMs needs: the validated files, the driver for the
/// cluster's backend, its clock, and the history store (the engine's journal).
///
/// Every command that moves VMs (`migrate`, `drain`, `activate`, `plan --execute`,
/// `reconcile`, `balance`) goes through one: it runs its work inside ``withLease(command:_:)``
/// (one Ballast process at a time migrates on a cluster), first reconciles what a killed
/// process left in flight (``reconcileHoldingLease(logger:)``), and journals into the store.
public struct ClusterSession: Sendable {
  /// The cluster as the files describe it (hosts in maintenance per the history included).
  public var cluster: Cluster
  /// The cluster exactly as its file says (what `--save` compares with).
  public var fileCluster: Cluster
  public var policy: Policy
  public var driver: any Driver
  public var clock: any EngineClock
  /// Set when the cluster is simulated (the file, or `statePath`, is the hypervisors' state).
  public var simulated: SimulatedDriver?
  public var store: HistoryStore
  /// The simulated hypervisors' state file (`--state`), if any.
  public var statePath: String?

  /// Loads the files, opens (creating) the history database and makes the driver.
  /// `statePath` keeps a simulated cluster's state in a file, written through. Hosts the
  /// history says a drain put in maintenance (and no `activate` took out) are in maintenance.
  /// The driver comes from ``DriverFactory``.
  /// - Throws: `FileErrors` for invalid files, ``RuntimeError`` for settings that do not apply,
  ///   and the history store's and driver's own errors.
  public static func open(
    files: ClusterFiles, databasePath: String, statePath: String?
  ) async throws
    -> ClusterSession
  {
    let (fileCluster, policy) = try files.load()
    var cluster = fileCluster
    // A damaged journal is refused before anything moves (SQLite quick_check), with how to recover.
    let store = try HistoryStore(path: databasePath, verifyIntegrity: true)
    let maintenance = try await store.latestHostStates(cluster: cluster.name).filter(\.value.maintenance)
    for i in cluster.hosts.indices where maintenance[cluster.hosts[i].name] != nil {
      cluster.hosts[i].state = .maintenance
    }
    switch try DriverFactory.backend(for: cluster, clusterFile: files.clusterPath, statePath: statePath) {
    case .simulated:
      let driver = try SimulatedCluster.driver(cluster: cluster, statePath: statePath)
      let simulatedHosts = try await driver.inventory().hosts
      for host in simulatedHosts where maintenance[host.name] != nil && host.state == .active {
        try await driver.setMaintenance(true, host: host.name)
      }
      return ClusterSession(
        cluster: cluster, fileCluster: fileCluster, policy: policy, driver: driver, clock: driver.clock,
        simulated: driver, store: store,
        statePath: statePath)
    case .hypervisors(let driver):
      for host in maintenance.keys { try await (driver as? any MaintenanceControl)?.setMaintenance(true, host: host) }
      if let libvirt = driver as? LibvirtDriver {
        // The file lists no VMs (nor capacities): the daemons' inventory is the cluster.
        cluster = try await LibvirtSession.inventory(of: libvirt, files: files)
      }
      return ClusterSession(
        cluster: cluster, fileCluster: fileCluster, policy: policy, driver: driver, clock: SystemClock(),
        simulated: nil, store: store, statePath: nil)
    }
  }

  /// Runs `body` holding the cluster's migration lease, renewed while it runs and released
  /// after. A simulated driver first adopts what another process saved in the state file.
  /// - Throws: ``LeaseError`` saying who holds the lease and until when, when another process does.
  public func withLease<T: Sendable>(
    command: String, _ body: @escaping @Sendable () async throws -> T
  ) async throws -> T {
    let simulated = self.simulated
    return try await store.withLease(cluster: cluster.name, holder: LeaseHolder.current(command: command)) { _ in
      await simulated?.adoptStoredChanges()
      return try await body()
    }
  }

  /// Finishes or rolls back the migrations of this cluster a previous process left in flight
  /// (see `Reconciler`). Call it holding the lease: then every unfinished move is a dead
  /// process's. Returns what it did; throws when the journal cannot be read.
  public func reconcileHoldingLease(logger: Logger) async throws -> [ReconcileResult] {
    let clock = self.clock
    return try await Reconciler(
      journal: store, driver: driver, cluster: cluster.name, now: { clock.now() }, logger: logger
    ).run()
  }

  /// Reconciles under the lease, taken for just that. When another process holds the lease,
  /// the moves in flight are its own: nothing is reconciled and the result is empty.
  public func reconcile(logger: Logger) async throws -> [ReconcileResult] {
    do {
      return try await withLease(command: "reconcile") { try await reconcileHoldingLease(logger: logger) }
    } catch let error as LeaseError {
      logger.notice("not reconciling now: \(error)")
      return []
    }
  }

  /// Puts `host` in maintenance (`true`) or takes it out, in the simulated hypervisors and in
  /// the history (by whom and why). Returns the host's state before; does nothing when it is
  /// already so. `record: false` changes the hypervisors only.
  @discardableResult
  public func setMaintenance(_ on: Bool, host: String, reason: String, record: Bool = true) async throws -> HostState {
    let inventory = try await driver.inventory()
    guard let current = inventory.host(named: host) else {
      throw RuntimeError(
        .unknownName,
        "no host named \(host) in cluster \(cluster.name) (hosts: \(inventory.hosts.map(\.name).joined(separator: ", ")))"
      )
    }
    let wanted: HostState = on ? .maintenance : .active
    guard current.state != wanted else { return current.state }
    try await (driver as? any MaintenanceControl)?.setMaintenance(on, host: host)
    if record {
      try await store.recordHostStateChange(
        HostStateChange(
          cluster: cluster.name, host: host, maintenance: on, by: Self.operatorName, reason: reason, at: clock.now()))
    }
    return current.state
  }

  /// The cluster as the hypervisors hold it now.
  public func inventory() async throws -> Cluster { try await driver.inventory() }

  /// An engine on this session's driver, clock and journal.
  public func engine(policy: Policy? = nil) -> MigrationEngine {
    MigrationEngine(driver: driver, journal: store, clock: clock, policy: policy ?? self.policy)
  }

  /// Writes `final` (the cluster as the hypervisors hold it) to `path`, atomically, when it
  /// differs from the file as loaded; returns whether it wrote.
  /// - Throws: ``RuntimeError`` for a libvirt cluster, whose file holds no placement.
  public func save(_ final: Cluster, to path: String) throws -> Bool {
    if fileCluster.driver == .libvirt {
      throw RuntimeError(
        .badSetting,
        "--save writes the placement into the cluster file; \(fileCluster.name)'s placement is in its libvirt "
          + "daemons (use `ballast discover` for a snapshot)")
    }
    guard final != fileCluster else { return false }
    try ClusterFile.save(final, to: path)
    return true
  }

  /// Who runs this command, for the history: the login name, else the user's name or id.
  public static var operatorName: String {
    let environment = ProcessInfo.processInfo.environment
    if let user = environment["USER"] ?? environment["LOGNAME"], !user.isEmpty { return user }
    if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
    return "uid \(getuid())"
  }

  /// Refuses to go on while a move an earlier process left in flight stays unresolved
  /// (`results` from ``reconcileHoldingLease(logger:)``): nothing may move until it is settled.
  /// - Throws: ``RuntimeError`` naming the unsettled VMs.
  public static func requireSettled(_ results: [ReconcileResult]) throws {
    let unresolved = results.filter { $0.resolution == .unresolved }
    guard unresolved.isEmpty else {
      throw RuntimeError(
        .unsettled,
        "\(unresolved.count) migration(s) left in flight by an earlier process could not be settled "
          + "(\(unresolved.map(\.vm).joined(separator: ", "))); nothing was moved — run `ballast reconcile` "
          + "once the hosts answer")
    }
  }
}
