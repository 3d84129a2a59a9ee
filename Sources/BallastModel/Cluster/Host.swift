/// Whether a host takes part in placement.
public enum HostState: String, Sendable, Hashable, Codable, CaseIterable {
  /// Runs VMs and may receive more.
  case active
  /// Being emptied or under maintenance: never a destination, for any command or the loop.
  case maintenance
}

/// A hypervisor host: its capacity, CPU generation, migration link and mounted datastores.
public struct Host: Sendable, Hashable, Codable {
  /// Unique name within the cluster.
  public var name: String
  /// Physical CPU cores (the capacity CPU utilization is measured against).
  public var cores: Int
  /// Physical memory.
  public var memory: ByteCount
  /// QEMU CPU model name of the host's CPU generation, e.g. `Cascadelake-Server`.
  public var cpuModel: String
  /// Extra CPU feature flags beyond those of `cpuModel`.
  public var cpuFeatures: [String]
  /// Bandwidth of the host's migration link.
  public var migrationBandwidth: Bandwidth
  /// Names of the datastores the host mounts.
  public var datastores: [String]
  /// Active, or in maintenance.
  public var state: HostState

  public init(
    name: String, cores: Int, memory: ByteCount, cpuModel: String, cpuFeatures: [String] = [],
    migrationBandwidth: Bandwidth, datastores: [String], state: HostState = .active
  ) {
    self.name = name
    self.cores = cores
    self.memory = memory
    self.cpuModel = cpuModel
    self.cpuFeatures = cpuFeatures
    self.migrationBandwidth = migrationBandwidth
    self.datastores = datastores
    self.state = state
  }

  /// Whether the host mounts the datastore called `name`.
  public func mounts(_ name: String) -> Bool { datastores.contains(name) }
}
