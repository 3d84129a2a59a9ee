import BallastModel

/// Small clusters built in code for planner tests (`Fixture` in BallastPlannerTests).
public enum PlannerFixture {
  public static func host(
    _ name: String, cores: Int = 16, memoryGiB: Double = 64, cpu: String = "Cascadelake-Server",
    linkGbit: Double = 10, stores: [String] = ["san"], state: HostState = .active
  ) -> Host {
    Host(
      name: name, cores: cores, memory: .gib(memoryGiB), cpuModel: cpu, migrationBandwidth: .gbit(linkGbit),
      datastores: stores, state: state)
  }

  public static func vm(
    _ name: String, on host: String, vcpus: Int = 2, memoryGiB: Double = 4, cpu: Double = 0.5,
    state: PowerState = .running, model: String = "Skylake-Server",
    disks: [Disk] = [Disk(datastore: "san", size: .gib(20))],
    dirtyMBps: Double = 10, workingSetMiB: Double = 256, labels: [String: String] = [:]
  ) -> VM {
    VM(
      name: name, host: host, state: state, vcpus: vcpus, memory: .gib(memoryGiB), cpuModel: model, disks: disks,
      usage: Usage(cpu: cpu, memory: 0.5), dirtyRate: .mbPerSecond(dirtyMBps), workingSet: .mib(workingSetMiB),
      labels: labels)
  }

  /// A cluster; datastores are every store a host mounts or a disk names, shared unless it ends
  /// in `-local` (``LocalDatastore``).
  public static func cluster(_ hosts: [Host], _ vms: [VM], name: String = "test") -> Cluster {
    var names = Set(hosts.flatMap(\.datastores))
    names.formUnion(vms.flatMap { $0.disks.map(\.datastore) })
    let stores = names.sorted().map(LocalDatastore.datastore(named:))
    return Cluster(name: name, datastores: stores, hosts: hosts, vms: vms)
  }

  public static func policy(_ change: (inout Policy) -> Void = { _ in }) -> Policy {
    var policy = Policy()
    change(&policy)
    return policy
  }
}

extension PlannerFixture {
  /// A random small cluster: `hosts` hosts of mixed sizes, `vms` running VMs of mixed sizes and
  /// load, all on shared storage with compatible CPUs, placed unevenly (half on the first host).
  public static func random(hosts: Int, vms: Int, seed: UInt64, linkGbit: Double = 100) -> Cluster {
    var random = SeededRandom(seed: seed)  // the generator `ballast generate` uses
    let hostList = (0..<hosts).map { i in
      let big = Bool.random(using: &random)
      return host("h\(i + 1)", cores: big ? 32 : 16, memoryGiB: big ? 128 : 64, linkGbit: linkGbit)
    }
    let sizes: [(Int, Double)] = [(1, 2), (2, 4), (4, 8), (8, 16)]
    let vmList = (0..<vms).map { j in
      let size = sizes[Int.random(in: 0..<sizes.count, using: &random)]
      let h = Double.random(in: 0..<1, using: &random) < 0.5 ? 0 : Int.random(in: 0..<hosts, using: &random)
      return vm(
        "vm\(j + 1)", on: "h\(h + 1)", vcpus: size.0, memoryGiB: size.1,
        cpu: Double.random(in: 0.1...0.9, using: &random))
    }
    return cluster(hostList, vmList, name: "random-\(seed)")
  }
}

extension PlannerFixture {
  /// A large cluster shaped like a real one: pods of 32 hosts sharing a SAN, one NFS store for
  /// all, local disks on a fifth of the VMs, four CPU generations, skewed load.
  public static func large(hosts: Int, vms: Int, seed: UInt64) -> Cluster {
    var random = SeededRandom(seed: seed)  // the generator `ballast generate` uses
    let models = ["Broadwell", "Skylake-Server", "Cascadelake-Server", "Icelake-Server"]
    var hostList: [Host] = []
    for i in 0..<hosts {
      let big = Double.random(in: 0..<1, using: &random) < 0.5
      let pod = "san-\(i / 32 + 1)"
      hostList.append(
        host(
          "host-\(i + 1)", cores: big ? 64 : 32, memoryGiB: big ? 512 : 256, cpu: models[i % models.count],
          linkGbit: Double.random(in: 0..<1, using: &random) < 0.7 ? 10 : 25,
          stores: ["nfs", pod, "host-\(i + 1)-local"]))
    }
    let heat = (0..<hosts).map { _ in Double.random(in: 0..<1, using: &random) }
    let sizes: [(Int, Double)] = [(1, 2), (2, 4), (2, 8), (4, 8), (4, 16), (8, 32)]
    var vmList: [VM] = []
    vmList.reserveCapacity(vms)
    for j in 0..<vms {
      let h = Int.random(in: 0..<hosts, using: &random)
      let size = sizes[Int.random(in: 0..<sizes.count, using: &random)]
      let roll = Double.random(in: 0..<1, using: &random)
      let store = roll < 0.2 ? "host-\(h + 1)-local" : roll < 0.5 ? "nfs" : "san-\(h / 32 + 1)"
      let state: PowerState = Double.random(in: 0..<1, using: &random) < 0.1 ? .stopped : .running
      vmList.append(
        vm(
          "vm-\(j + 1)", on: "host-\(h + 1)", vcpus: size.0, memoryGiB: size.1,
          cpu: min(1, 0.05 + heat[h] * Double.random(in: 0.3...1, using: &random)), state: state,
          model: models[(h % models.count) / 2 * 2], disks: [Disk(datastore: store, size: .gib(40))],
          dirtyMBps: Double.random(in: 5...200, using: &random), workingSetMiB: 512))
    }
    return cluster(hostList, vmList, name: "large-\(hosts)x\(vms)")
  }
}
