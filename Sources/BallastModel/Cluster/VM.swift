/// The power state of a VM.
public enum PowerState: String, Sendable, Hashable, Codable, CaseIterable {
  case running
  case stopped
  case suspended

  /// Whether the VM counts as load and must move live (or be shut down) to move.
  public var isRunning: Bool { self == .running }
}

/// One virtual disk: where it lives and how big it is.
public struct Disk: Sendable, Hashable, Codable {
  /// Datastore holding the disk image.
  public var datastore: String
  /// Provisioned size.
  public var size: ByteCount
  /// Image path inside the datastore (the QEMU lab); `nil` for simulated clusters.
  public var path: String?
  /// Space the image really takes (a thin image: the blocks written), when known: what a
  /// cold move copies.
  public var allocated: ByteCount?

  public init(datastore: String, size: ByteCount, path: String? = nil, allocated: ByteCount? = nil) {
    self.datastore = datastore
    self.size = size
    self.path = path
    self.allocated = allocated
  }

  /// What copying the disk sends: its allocated size when known (at most its size), else its size.
  public var bytesToCopy: ByteCount { allocated.map { min($0, size) } ?? size }
}

/// Current demand of a VM as fractions: of its vCPUs busy, of its memory in use.
public struct Usage: Sendable, Hashable, Codable {
  /// Fraction of the VM's vCPUs in use, 0…1.
  public var cpu: Double
  /// Fraction of the VM's memory in use, 0…1.
  public var memory: Double

  public init(cpu: Double, memory: Double) {
    self.cpu = cpu
    self.memory = memory
  }

  public static let idle = Usage(cpu: 0, memory: 0)
}

/// A timestamped load measurement of a VM, for smoothing over a window.
public struct LoadSample: Sendable, Hashable, Codable {
  /// Seconds since the start of the trace (or since the Unix epoch for live samples).
  public var at: Double
  /// Fraction of vCPUs busy.
  public var cpu: Double
  /// Fraction of memory in use.
  public var memory: Double

  public init(at: Double, cpu: Double, memory: Double) {
    self.at = at
    self.cpu = cpu
    self.memory = memory
  }
}

/// A virtual machine: where it runs, its size and its load.
public struct VM: Sendable, Hashable, Codable {
  /// Unique name within the cluster.
  public var name: String
  /// Name of the host it is placed on.
  public var host: String
  public var state: PowerState
  public var vcpus: Int
  /// Allocated memory.
  public var memory: ByteCount
  /// QEMU CPU model the VM was started with; the destination must offer all its features.
  public var cpuModel: String
  /// Feature flags the VM's CPU needs beyond its model's. For a model Ballast's table does not
  /// know (a libvirt name such as `EPYC-Milan-v2`), the complete list: the CPU check then goes by
  /// features.
  public var cpuFeatures: [String]
  public var disks: [Disk]
  /// Current demand.
  public var usage: Usage
  /// Load history, oldest first (may be empty).
  public var samples: [LoadSample]
  /// Path of a per-VM CPU trace (one percentage per line), relative to the cluster file.
  public var trace: String?
  /// Rate at which the running guest dirties memory (pre-copy model).
  public var dirtyRate: Bandwidth
  /// Writable working set: the memory the guest keeps re-dirtying (pre-copy model).
  public var workingSet: ByteCount
  /// How long a clean shutdown of the guest takes, when the file says (else learned, else assumed).
  public var shutdownTime: TimeSpan?
  /// How long the guest takes to boot, when the file says (else learned, else assumed).
  public var bootTime: TimeSpan?
  public var labels: [String: String]

  public init(
    name: String, host: String, state: PowerState = .running, vcpus: Int, memory: ByteCount,
    cpuModel: String, cpuFeatures: [String] = [], disks: [Disk] = [], usage: Usage = .idle,
    samples: [LoadSample] = [], trace: String? = nil, dirtyRate: Bandwidth = .zero, workingSet: ByteCount = .zero,
    shutdownTime: TimeSpan? = nil, bootTime: TimeSpan? = nil, labels: [String: String] = [:]
  ) {
    self.name = name
    self.host = host
    self.state = state
    self.vcpus = vcpus
    self.memory = memory
    self.cpuModel = cpuModel
    self.cpuFeatures = cpuFeatures
    self.disks = disks
    self.usage = usage
    self.samples = samples
    self.trace = trace
    self.dirtyRate = dirtyRate
    self.workingSet = workingSet
    self.shutdownTime = shutdownTime
    self.bootTime = bootTime
    self.labels = labels
  }

  /// CPU demand in cores: vCPUs × busy fraction (zero unless running).
  public var cpuDemand: Double { state.isRunning ? Double(vcpus) * usage.cpu : 0 }
  /// Memory counted against the host: the allocation (zero unless running).
  public var memoryDemand: ByteCount { state.isRunning ? memory : .zero }
}

extension VM {
  private enum CodingKeys: String, CodingKey {
    case name, host, state, vcpus, memory, cpuModel, cpuFeatures, disks, usage, samples, trace, dirtyRate
    case workingSet, shutdownTime, bootTime, labels
  }

  /// Decodes a VM; `cpuFeatures`, `shutdownTime` and `bootTime` may be absent (state files
  /// written before they existed).
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      name: try c.decode(String.self, forKey: .name), host: try c.decode(String.self, forKey: .host),
      state: try c.decode(PowerState.self, forKey: .state), vcpus: try c.decode(Int.self, forKey: .vcpus),
      memory: try c.decode(ByteCount.self, forKey: .memory), cpuModel: try c.decode(String.self, forKey: .cpuModel),
      cpuFeatures: try c.decodeIfPresent([String].self, forKey: .cpuFeatures) ?? [],
      disks: try c.decode([Disk].self, forKey: .disks), usage: try c.decode(Usage.self, forKey: .usage),
      samples: try c.decode([LoadSample].self, forKey: .samples),
      trace: try c.decodeIfPresent(String.self, forKey: .trace),
      dirtyRate: try c.decode(Bandwidth.self, forKey: .dirtyRate),
      workingSet: try c.decode(ByteCount.self, forKey: .workingSet),
      shutdownTime: try c.decodeIfPresent(TimeSpan.self, forKey: .shutdownTime),
      bootTime: try c.decodeIfPresent(TimeSpan.self, forKey: .bootTime),
      labels: try c.decode([String: String].self, forKey: .labels))
  }
}
