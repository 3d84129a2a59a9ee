/// Makes valid synthetic clusters: mixed host sizes and CPU generations, shared and local
/// datastores, running and stopped VMs, and a skewed load. Deterministic for a seed.
public struct ClusterGenerator: Sendable {
  public var hosts: Int
  public var vms: Int
  public var seed: UInt64
  /// Fraction of VMs whose disks are on shared datastores (the rest are on local disks).
  public var sharedRatio: Double
  /// CPU models hosts are drawn from; VMs use their host's model or an older one of its line.
  public var cpuModels: [String]
  /// Hosts per storage pod: each pod shares one SAN; every host also mounts `nfs-global`.
  public var podSize: Int = 32

  public init(
    hosts: Int, vms: Int, seed: UInt64 = 1, sharedRatio: Double = 0.8,
    cpuModels: [String] = ["Broadwell", "Skylake-Server", "Cascadelake-Server", "Icelake-Server"]
  ) {
    self.hosts = hosts
    self.vms = vms
    self.seed = seed
    self.sharedRatio = sharedRatio
    self.cpuModels = cpuModels
  }

  private static let hostSizes: [((cores: Int, memoryGiB: Double), Double)] = [
    ((16, 128), 1), ((32, 256), 3), ((48, 384), 2), ((64, 512), 2), ((96, 768), 1),
  ]
  private static let vmSizes: [((vcpus: Int, memoryGiB: Double), Double)] = [
    ((1, 2), 3), ((2, 4), 5), ((2, 8), 3), ((4, 8), 4), ((4, 16), 3), ((8, 32), 2), ((16, 64), 1),
  ]
  private static let apps = ["web", "api", "db", "cache", "batch", "queue", "search", "ci"]

  /// The generated cluster, named `gen-<hosts>x<vms>-s<seed>`.
  public func generate() -> Cluster {
    var random = SeededRandom(seed: seed)
    let pods = max(1, (hosts + podSize - 1) / podSize)
    var datastores = [Datastore(name: "nfs-global", shared: true)]
    datastores += (0..<pods).map { Datastore(name: "san-\($0 + 1)", shared: true) }
    var hostList: [Host] = []
    for i in 0..<hosts {
      let name = "host-\(pad(i + 1, hosts))"
      let size = random.weighted(Self.hostSizes)
      let model = cpuModels[random.index(cpuModels.count)]
      let bandwidth: Bandwidth = random.unit() < 0.7 ? .gbit(10) : .gbit(25)
      datastores.append(Datastore(name: "\(name)-local", shared: false))
      hostList.append(
        Host(
          name: name, cores: size.cores, memory: .gib(size.memoryGiB), cpuModel: model,
          migrationBandwidth: bandwidth, datastores: ["nfs-global", "san-\(i / podSize + 1)", "\(name)-local"]))
    }

    // Skew: each host gets a "heat" so some are hot and some nearly idle.
    let heat = (0..<hosts).map { _ in pow2(random.unit()) }
    var freeMemory = hostList.map(\.memory.double)
    var freeVCPUs = hostList.map { Double($0.cores) * 3.5 }
    var vmList: [VM] = []
    vmList.reserveCapacity(vms)
    for j in 0..<vms {
      let size = random.weighted(Self.vmSizes)
      let memory = ByteCount.gib(size.memoryGiB)
      let state: PowerState = random.weighted([(.running, 85), (.stopped, 10), (.suspended, 5)])
      // Prefer hot hosts, fall back to the next host with room.
      var h = random.unit() < 0.5 ? Int(pow2(random.unit()) * Double(hosts)) % hosts : random.index(hosts)
      var tries = 0
      while tries < hosts, freeMemory[h] < memory.double || freeVCPUs[h] < Double(size.vcpus) {
        h = (h + 1) % hosts
        tries += 1
      }
      guard tries < hosts else { break }  // the cluster is full
      if state.isRunning {
        freeMemory[h] -= memory.double
        freeVCPUs[h] -= Double(size.vcpus)
      }
      let host = hostList[h]
      let shared = random.unit() < sharedRatio
      let store = shared ? (random.unit() < 0.3 ? "nfs-global" : "san-\(h / podSize + 1)") : "\(host.name)-local"
      let cpu = min(1, max(0.02, random.uniform(0.05...0.5) + heat[h] * random.uniform(0.2...0.6)))
      vmList.append(
        VM(
          name: "vm-\(pad(j + 1, vms))", host: host.name, state: state, vcpus: size.vcpus, memory: memory,
          cpuModel: vmModel(on: host.cpuModel, &random),
          disks: [Disk(datastore: store, size: .gib(Double([20, 40, 80, 160][random.index(4)])))],
          usage: Usage(cpu: rounded(cpu), memory: rounded(random.uniform(0.3...0.9))),
          dirtyRate: .mbPerSecond(Double([5, 20, 50, 100, 200][random.index(5)])),
          workingSet: .mib(Double(Int(size.memoryGiB * 1024 * random.uniform(0.05...0.25)))),
          labels: ["app": Self.apps[random.index(Self.apps.count)]]))
    }
    return Cluster(
      name: "gen-\(hosts)x\(vms)-s\(seed)", datastores: datastores, hosts: hostList, vms: vmList)
  }

  /// The host's model, or (one time in four) an older model of the same line it can run.
  private func vmModel(on hostModel: String, _ random: inout SeededRandom) -> String {
    guard random.unit() < 0.25, let offered = CPUModels.features[hostModel] else { return hostModel }
    let older = CPUModels.names.filter { name in
      name != hostModel && (CPUModels.features[name].map { $0.isSubset(of: offered) } ?? false)
        && name != "qemu64" && name != "kvm64"
    }
    return older.isEmpty ? hostModel : older[random.index(older.count)]
  }

  private func pad(_ n: Int, _ total: Int) -> String {
    let width = String(total).count
    let digits = String(n)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
  }

  private func pow2(_ x: Double) -> Double { x * x }
  private func rounded(_ x: Double) -> Double { (x * 100).rounded() / 100 }
}
