/// Which hypervisor backend a cluster file describes.
public enum DriverKind: String, Sendable, Hashable, Codable, CaseIterable {
  /// In-memory hosts on a virtual clock; the cluster file is the state.
  case simulated
  /// The QEMU lab: hosts are directories, VMs are real `qemu-system-x86_64` processes.
  case qemu
  /// Hosts reached through libvirt (`uri:` per host): VMs, placement and load come live from
  /// the daemons; the file only says how to reach them and what to override.
  case libvirt
}

extension DriverKind {
  /// Whether a bandwidth cap is QEMU's windowed rate limiter (QEMU and libvirt hosts), not a
  /// steady rate (the simulated hypervisors): see ``RateLimiterWindows``.
  public var capsByWindows: Bool { self != .simulated }
}

/// A whole cluster: datastores, hosts and VMs. The snapshot every planner and command reads.
public struct Cluster: Sendable, Hashable, Codable {
  /// Format version of the file (currently 1).
  public var version: Int
  public var name: String
  public var driver: DriverKind
  /// Root directory of the QEMU lab, relative to the cluster file; `nil` when simulated.
  public var labRoot: String?
  public var datastores: [Datastore]
  public var hosts: [Host]
  public var vms: [VM]
  /// Placement rules that belong to this cluster (they name its VMs); added to the policy's.
  public var rules: [PlacementRule]
  /// A `driver: libvirt` file's connections and overrides; `nil` otherwise (and in an
  /// inventory, which lists what the daemons report).
  public var libvirt: LibvirtSettings?

  public init(
    version: Int = 1, name: String, driver: DriverKind = .simulated, labRoot: String? = nil,
    datastores: [Datastore], hosts: [Host], vms: [VM], rules: [PlacementRule] = [],
    libvirt: LibvirtSettings? = nil
  ) {
    self.version = version
    self.name = name
    self.driver = driver
    self.labRoot = labRoot
    self.datastores = datastores
    self.hosts = hosts
    self.vms = vms
    self.rules = rules
    self.libvirt = libvirt
  }

  /// Whether the file lists the cluster's VMs. A `driver: libvirt` file does not: its hosts,
  /// VMs and placement come from the daemons, so names in rules are checked against the
  /// inventory instead.
  public var listsVMs: Bool { libvirt == nil }

  /// The host called `name`, if any. Linear: build a ``ClusterIndex`` for repeated lookups.
  public func host(named name: String) -> Host? { hosts.first { $0.name == name } }
  /// The VM called `name`, if any. Linear: build a ``ClusterIndex`` for repeated lookups.
  public func vm(named name: String) -> VM? { vms.first { $0.name == name } }
  /// The datastore called `name`, if any.
  public func datastore(named name: String) -> Datastore? { datastores.first { $0.name == name } }
}

/// Name → position lookups over a cluster, built once in O(hosts + VMs).
public struct ClusterIndex: Sendable {
  /// Position of each host in `cluster.hosts`.
  public let hostPosition: [String: Int]
  /// Position of each VM in `cluster.vms`.
  public let vmPosition: [String: Int]
  /// Positions of the VMs on each host, in file order.
  public let vmsOnHost: [[Int]]
  /// Whether each datastore is shared.
  public let datastoreShared: [String: Bool]

  public init(_ cluster: Cluster) {
    var hostPosition: [String: Int] = [:]
    for (i, host) in cluster.hosts.enumerated() where hostPosition[host.name] == nil {
      hostPosition[host.name] = i
    }
    var vmPosition: [String: Int] = [:]
    var vmsOnHost = Array(repeating: [Int](), count: cluster.hosts.count)
    for (i, vm) in cluster.vms.enumerated() {
      if vmPosition[vm.name] == nil { vmPosition[vm.name] = i }
      if let h = hostPosition[vm.host] { vmsOnHost[h].append(i) }
    }
    var shared: [String: Bool] = [:]
    for store in cluster.datastores { shared[store.name] = store.shared }
    self.hostPosition = hostPosition
    self.vmPosition = vmPosition
    self.vmsOnHost = vmsOnHost
    self.datastoreShared = shared
  }
}
