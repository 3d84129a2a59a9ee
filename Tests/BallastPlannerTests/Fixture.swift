import BallastModel

@testable import BallastPlanner

/// Small clusters built in code for planner tests.
enum Fixture {
  static func host(
    _ name: String, cores: Int = 16, memoryGiB: Double = 64, cpu: String = "Cascadelake-Server",
    linkGbit: Double = 10, stores: [String] = ["san"], state: HostState = .active
  ) -> Host {
    Host(
      name: name, cores: cores, memory: .gib(memoryGiB), cpuModel: cpu, migrationBandwidth: .gbit(linkGbit),
      datastores: stores, state: state)
  }

  static func vm(
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

  /// A cluster; datastores are every store a host mounts or a disk names, shared unless it ends in `-local`.
  static func cluster(_ hosts: [Host], _ vms: [VM], name: String = "test") -> Cluster {
    var names = Set(hosts.flatMap(\.datastores))
    names.formUnion(vms.flatMap { $0.disks.map(\.datastore) })
    let stores = names.sorted().map { Datastore(name: $0, shared: !$0.hasSuffix("-local")) }
    return Cluster(name: name, datastores: stores, hosts: hosts, vms: vms)
  }

  static func policy(_ change: (inout Policy) -> Void = { _ in }) -> Policy {
    var policy = Policy()
    change(&policy)
    return policy
  }
}

/// SplitMix64: a small seeded generator so random test clusters are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension Fixture {
  /// A random small cluster: `hosts` hosts of mixed sizes, `vms` running VMs of mixed sizes and
  /// load, all on shared storage with compatible CPUs, placed unevenly (half on the first host).
  static func random(hosts: Int, vms: Int, seed: UInt64, linkGbit: Double = 100) -> Cluster {
    var random = SeededGenerator(seed: seed)
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

extension Fixture {
  /// A large cluster shaped like a real one: pods of 32 hosts sharing a SAN, one NFS store for
  /// all, local disks on a fifth of the VMs, four CPU generations, skewed load.
  static func large(hosts: Int, vms: Int, seed: UInt64) -> Cluster {
    var random = SeededGenerator(seed: seed)
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

extension Fixture {
  /// `cluster` with rules that it partly breaks and tight memory, as a discovered
  /// heterogeneous cluster might: anti-affinity pairs (half of them on one host), affinity
  /// pairs (half split), VMs that must stay in their pod's first hosts or off the oldest CPU
  /// generation, soft spreads and preferences, and one host in ten with memory cut below what
  /// its running VMs are allocated.
  static func withBrokenRules(_ cluster: Cluster, seed: UInt64) -> Cluster {
    var random = SeededGenerator(seed: seed)
    var cluster = cluster
    var rules: [PlacementRule] = []
    let running = cluster.vms.indices.filter { cluster.vms[$0].state.isRunning }.shuffled(using: &random)
    let pairs = max(2, running.count / 40)
    for p in 0..<pairs {
      let a = running[2 * p]
      let b = running[2 * p + 1]
      let kind: RuleKind = p % 2 == 0 ? .antiAffinity : .affinity
      let mode: RuleMode = p % 5 == 4 ? .should : .must
      let broken = p % 4 < 2
      if kind == .antiAffinity, broken { cluster.vms[b].host = cluster.vms[a].host }
      if kind == .affinity, !broken { cluster.vms[b].host = cluster.vms[a].host }
      rules.append(
        PlacementRule(
          name: "pair-\(p)", kind: kind, vms: [cluster.vms[a].name, cluster.vms[b].name], mode: mode))
    }
    let oldest = cluster.hosts.filter { $0.cpuModel == cluster.hosts[0].cpuModel }.map(\.name)
    let pinned = running.dropFirst(2 * pairs).prefix(pairs / 2).map { cluster.vms[$0].name }
    rules.append(PlacementRule(name: "off-oldest", kind: .vmHost, vms: pinned, hosts: oldest, mode: .mustNot))
    let preferred = running.dropFirst(2 * pairs + pairs / 2).prefix(pairs / 2).map { cluster.vms[$0].name }
    rules.append(
      PlacementRule(
        name: "prefer-first", kind: .vmHost, vms: preferred, hosts: Array(cluster.hosts.prefix(8).map(\.name)),
        mode: .should))
    cluster.rules = rules
    var allocated: [String: Double] = [:]
    for vm in cluster.vms where vm.state.isRunning { allocated[vm.host, default: 0] += vm.memory.double }
    for h in cluster.hosts.indices where h % 10 == 3 {
      let used = allocated[cluster.hosts[h].name] ?? 0
      if used > 0 { cluster.hosts[h].memory = .gib((used * 0.9 / 1_073_741_824).rounded(.down)) }
    }
    return cluster
  }
}
