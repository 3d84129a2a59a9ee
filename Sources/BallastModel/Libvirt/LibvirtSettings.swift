/// What a `driver: libvirt` cluster file says: how to reach each host, how to migrate, and what
/// the operator knows better than libvirt.
///
/// The hypervisors are the truth for hosts, VMs, placement, state, CPU models, disks and load:
/// the file does not list VMs. Per-host and per-VM entries only override or add to what the
/// inventory reports (a declared CPU generation, the migration link's bandwidth, dirty-rate
/// priors, labels). Credentials never appear here: libvirt's own mechanisms (SSH keys, TLS
/// certificates under `/etc/pki`, polkit) authenticate every connection.
public struct LibvirtSettings: Sendable, Hashable, Codable {
  /// Who drives a live migration.
  public enum MigrationMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Client-managed: Ballast talks to both daemons (`virDomainMigrate3`). If Ballast dies,
    /// the daemons abort the migration and the VM keeps running on its source.
    case direct
    /// Peer-to-peer: the source daemon connects to the destination itself
    /// (`virDomainMigrateToURI3` with `VIR_MIGRATE_PEER2PEER`); the migration finishes even if
    /// Ballast dies, and `reconcile` completes it.
    case peerToPeer
  }

  public var mode: MigrationMode
  /// Encrypt the migration stream with TLS (`VIR_MIGRATE_TLS`; needs certificates on the hosts).
  public var tls: Bool
  /// Migrate although libvirt considers it unsafe (`VIR_MIGRATE_UNSAFE`): only for labs whose
  /// "shared" storage is a local folder every daemon reads.
  public var unsafe: Bool
  /// The migration link's bandwidth where a host does not declare its own.
  public var migrationBandwidth: Bandwidth
  /// Every host, in file order.
  public var hosts: [LibvirtHost]
  /// Overrides and additions per VM (and, for a lab, the VMs `lab up` creates).
  public var vms: [VMOverride]

  public init(
    mode: MigrationMode = .direct, tls: Bool = false, unsafe: Bool = false,
    migrationBandwidth: Bandwidth = .gbit(10), hosts: [LibvirtHost], vms: [VMOverride] = []
  ) {
    self.mode = mode
    self.tls = tls
    self.unsafe = unsafe
    self.migrationBandwidth = migrationBandwidth
    self.hosts = hosts
    self.vms = vms
  }

  /// The host entry called `name`, if any.
  public func host(named name: String) -> LibvirtHost? { hosts.first { $0.name == name } }
  /// The override for the VM called `name`, if any.
  public func vm(named name: String) -> VMOverride? { vms.first { $0.name == name } }
}

/// One libvirt host: where its daemon is, and what the file overrides.
public struct LibvirtHost: Sendable, Hashable, Codable {
  /// The host's name in Ballast (rules, `drain`, history); need not be its hostname.
  public var name: String
  /// The libvirt connection URI (`qemu:///system`, `qemu+ssh://root@kvm-2/system`,
  /// `qemu+tls://kvm-2/system`, `qemu+unix:///session?socket=…`); `nil` in a lab, which knows it.
  public var uri: String?
  /// Where the migration stream goes (`tcp://10.0.0.2`); `nil`: libvirt picks from the hostname.
  public var migrationURI: String?
  /// Declared CPU generation (a model of Ballast's table), instead of the one libvirt reports.
  public var cpuModel: String?
  /// Extra CPU feature flags, added to what libvirt reports.
  public var cpuFeatures: [String]
  /// The migration link's bandwidth (else the cluster's `libvirt.migrationBandwidth`).
  public var migrationBandwidth: Bandwidth?
  /// Declared capacity, for a lab whose daemons all report this machine.
  public var cores: Int?
  public var memory: ByteCount?

  public init(
    name: String, uri: String? = nil, migrationURI: String? = nil, cpuModel: String? = nil,
    cpuFeatures: [String] = [], migrationBandwidth: Bandwidth? = nil, cores: Int? = nil, memory: ByteCount? = nil
  ) {
    self.name = name
    self.uri = uri
    self.migrationURI = migrationURI
    self.cpuModel = cpuModel
    self.cpuFeatures = cpuFeatures
    self.migrationBandwidth = migrationBandwidth
    self.cores = cores
    self.memory = memory
  }
}

/// What the file says about one VM of a libvirt cluster. Every field but the name is optional:
/// a `nil` keeps what libvirt reports. `host`, `state`, `vcpus`, `memory`, `disks` and `usage`
/// are read only by `ballast lab up`, to create a lab's VMs.
public struct VMOverride: Sendable, Hashable, Codable {
  public var name: String
  public var cpuModel: String?
  public var dirtyRate: Bandwidth?
  public var workingSet: ByteCount?
  public var labels: [String: String]
  // Lab only.
  public var host: String?
  public var state: PowerState?
  public var vcpus: Int?
  public var memory: ByteCount?
  public var disks: [Disk]
  public var usage: Usage?

  public init(
    name: String, cpuModel: String? = nil, dirtyRate: Bandwidth? = nil, workingSet: ByteCount? = nil,
    labels: [String: String] = [:], host: String? = nil, state: PowerState? = nil, vcpus: Int? = nil,
    memory: ByteCount? = nil, disks: [Disk] = [], usage: Usage? = nil
  ) {
    self.name = name
    self.cpuModel = cpuModel
    self.dirtyRate = dirtyRate
    self.workingSet = workingSet
    self.labels = labels
    self.host = host
    self.state = state
    self.vcpus = vcpus
    self.memory = memory
    self.disks = disks
    self.usage = usage
  }
}
