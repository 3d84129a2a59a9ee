import BallastModel

/// The cluster as a plan sees it while the plan is built: where each VM is, each host's load,
/// state and weighted score, the running imbalance, and the indexes filters need.
///
/// Hosts and VMs are addressed by their position in `cluster.hosts` / `cluster.vms`. Moving a VM
/// updates its two hosts in O(VMs on them) and the imbalance in O(1), so planners can try many
/// moves cheaply. It is a value: copy it to explore, mutate it to commit.
public struct PlacementState: Sendable {
  /// The snapshot the plan starts from (never changed: moves live in `hostOf` and `loads`).
  public let cluster: Cluster
  public let policy: Policy
  /// Position of each host and VM by name.
  let hostPositions: [String: Int]
  let vmPositions: [String: Int]
  /// Host position of each VM now (−1 when its host is unknown).
  public private(set) var hostOf: [Int]
  /// VM positions on each host now.
  public private(set) var vmsOn: [[Int]]
  /// Demand totals per host now.
  public private(set) var loads: [HostLoad]
  /// Host states in the plan's view (a drained host is in maintenance).
  public private(set) var hostStates: [HostState]
  /// Migrations already in progress per host (from ``MoveHistory/inFlight``).
  public let inFlight: [Int]
  /// Weighted utilization of each host now (policy weights).
  public private(set) var scores: [Double]
  private var accumulator: ImbalanceAccumulator
  /// Normalized policy weights.
  public let weights: MetricWeights

  // Per-VM and per-host numbers for the hot paths.
  let vmCPUDemand: [Double]
  let vmMemory: [Double]
  let vmVCPUs: [Int]
  let vmRunning: [Bool]
  let hostCores: [Double]
  let hostMemory: [Double]

  // Storage: datastore ids, whether shared, what each host mounts, where each disk lives.
  let datastoreShared: [Bool]
  let hostMounts: [[Int]]
  let vmStores: [[Int]]
  /// Active-or-not hosts mounting each datastore, by datastore id.
  let storeMembers: [[Int]]

  // CPU: model ids and the missing-feature table, computed once per (VM model, host profile).
  let vmCPU: [Int]
  let hostCPU: [Int]
  let missing: [[[String]]]

  // Rules: which rules apply to each VM, members of each rule, members per host.
  let rulesOf: [[Int]]
  let ruleMembers: [[Int]]
  let ruleHosts: [Set<Int>]
  private var ruleCount: [[Int: Int]]

  /// The state of `cluster` before any move; `history.inFlight` marks busy hosts.
  ///
  /// One pass over the VMs, reading their fields in place (copying 200,000 VM values, each
  /// with several reference-counted fields, would cost more than planning).
  public init(cluster: Cluster, policy: Policy, history: MoveHistory = .none) {
    self.cluster = cluster
    self.policy = policy
    let weights = policy.weights.normalized
    self.weights = weights
    let hostCount = cluster.hosts.count
    let vmCount = cluster.vms.count

    var hostPositions = [String: Int](minimumCapacity: hostCount)
    for (h, host) in cluster.hosts.enumerated() where hostPositions[host.name] == nil { hostPositions[host.name] = h }
    var storeID = [String: Int](minimumCapacity: cluster.datastores.count)
    var shared: [Bool] = []
    for store in cluster.datastores where storeID[store.name] == nil {
      storeID[store.name] = shared.count
      shared.append(store.shared)
    }
    let hostMounts = cluster.hosts.map { host in host.datastores.compactMap { storeID[$0] } }
    var members = [[Int]](repeating: [], count: shared.count)
    for (h, mounts) in hostMounts.enumerated() {
      for id in Set(mounts).sorted() { members[id].append(h) }
    }

    var vmPositions = [String: Int](minimumCapacity: vmCount)
    var hostOf = [Int](repeating: -1, count: vmCount)
    var vmsOn = [[Int]](repeating: [], count: hostCount)
    var loads = [HostLoad](repeating: HostLoad(), count: hostCount)
    var cpuDemand = [Double](repeating: 0, count: vmCount)
    var memory = [Double](repeating: 0, count: vmCount)
    var vcpus = [Int](repeating: 0, count: vmCount)
    var running = [Bool](repeating: false, count: vmCount)
    var stores = [[Int]](repeating: [], count: vmCount)
    var vmCPU = [Int](repeating: 0, count: vmCount)
    var vmModelID: [String: Int] = [:]
    var vmModels: [(model: String, features: [String])] = []
    cluster.vms.withUnsafeBufferPointer { vms in
      for v in 0..<vms.count {
        let name = vms[v].name
        if vmPositions[name] == nil { vmPositions[name] = v }
        let isRunning = vms[v].state.isRunning
        running[v] = isRunning
        vcpus[v] = vms[v].vcpus
        memory[v] = vms[v].memory.double
        cpuDemand[v] = isRunning ? Double(vms[v].vcpus) * vms[v].usage.cpu : 0
        // VMs of one model share a row of the compatibility table; a VM whose model comes with
        // its own feature list (a model Ballast's table does not know) gets its own.
        let features = vms[v].cpuFeatures
        let model = features.isEmpty ? vms[v].cpuModel : vms[v].cpuModel + "+" + features.joined(separator: ",")
        if let id = vmModelID[model] {
          vmCPU[v] = id
        } else {
          vmModelID[model] = vmModels.count
          vmCPU[v] = vmModels.count
          vmModels.append((vms[v].cpuModel, features))
        }
        if !vms[v].disks.isEmpty { stores[v] = vms[v].disks.map { storeID[$0.datastore] ?? -1 } }
        guard let h = hostPositions[vms[v].host] else { continue }
        hostOf[v] = h
        vmsOn[h].append(v)
        if isRunning {
          loads[h].cpuDemand += cpuDemand[v]
          loads[h].memoryDemand += memory[v]
          loads[h].vcpus += vcpus[v]
          loads[h].running += 1
        } else {
          loads[h].stopped += 1
        }
      }
    }
    self.hostPositions = hostPositions
    self.vmPositions = vmPositions
    self.hostOf = hostOf
    self.vmsOn = vmsOn
    self.loads = loads
    self.hostStates = cluster.hosts.map(\.state)
    self.inFlight = cluster.hosts.map { history.inFlight[$0.name] ?? 0 }
    self.vmCPUDemand = cpuDemand
    self.vmMemory = memory
    self.vmVCPUs = vcpus
    self.vmRunning = running
    self.hostCores = cluster.hosts.map { Double($0.cores) }
    self.hostMemory = cluster.hosts.map(\.memory.double)
    self.datastoreShared = shared
    self.hostMounts = hostMounts
    self.vmStores = stores
    self.storeMembers = members
    self.vmCPU = vmCPU

    var profileID: [String: Int] = [:]
    var profiles: [Host] = []
    self.hostCPU = cluster.hosts.map { host in
      let key = ([host.cpuModel] + host.cpuFeatures.sorted()).joined(separator: " ")
      if let id = profileID[key] { return id }
      profileID[key] = profiles.count
      profiles.append(host)
      return profiles.count - 1
    }
    self.missing = vmModels.map { cpu in
      profiles.map { CPUCheck.missingFeatures(vmModel: cpu.model, vmFeatures: cpu.features, on: $0) }
    }

    let rules = policy.rules
    var rulesOf = [[Int]](repeating: [], count: vmCount)
    var ruleMembers = [[Int]](repeating: [], count: rules.count)
    var ruleCount = [[Int: Int]](repeating: [:], count: rules.count)
    for (r, rule) in rules.enumerated() {
      for name in rule.vms {
        if let v = vmPositions[name] { ruleMembers[r].append(v) }
      }
      if !rule.selector.isEmpty {
        cluster.vms.withUnsafeBufferPointer { vms in
          for v in 0..<vms.count where rule.selector.allSatisfy({ vms[v].labels[$0.key] == $0.value }) {
            ruleMembers[r].append(v)
          }
        }
      }
      ruleMembers[r] = Array(Set(ruleMembers[r])).sorted()
      for v in ruleMembers[r] {
        rulesOf[v].append(r)
        if rule.kind != .vmHost, hostOf[v] >= 0 { ruleCount[r][hostOf[v], default: 0] += 1 }
      }
    }
    self.rulesOf = rulesOf
    self.ruleMembers = ruleMembers
    self.ruleCount = ruleCount
    self.ruleHosts = rules.map { Set($0.hosts.compactMap { hostPositions[$0] }) }

    let scores = zip(cluster.hosts, loads).map { $1.utilization(of: $0).weighted(weights) }
    self.scores = scores
    self.accumulator = ImbalanceAccumulator(
      zip(scores, cluster.hosts).compactMap { $1.state == .active ? $0 : nil })
  }

  // MARK: Lookups

  /// Position of the host called `name`.
  public func hostPosition(_ name: String) -> Int? { hostPositions[name] }
  /// Position of the VM called `name`.
  public func vmPosition(_ name: String) -> Int? { vmPositions[name] }
  /// The host at position `h`.
  public func host(_ h: Int) -> Host { cluster.hosts[h] }
  /// The VM at position `v`.
  public func vm(_ v: Int) -> VM { cluster.vms[v] }
  /// Whether host `h` takes part in placement in the plan's view.
  public func isActive(_ h: Int) -> Bool { hostStates[h] == .active }
  /// Hosts that are active in the plan's view, in file order.
  public var activeHosts: [Int] { hostStates.indices.filter { hostStates[$0] == .active } }
  /// Current imbalance (population standard deviation of active hosts' scores).
  public var imbalance: Double { accumulator.standardDeviation }
  /// Mean weighted utilization of active hosts.
  public var meanScore: Double { accumulator.count > 0 ? accumulator.sum / Double(accumulator.count) : 0 }

  // MARK: Load arithmetic

  /// What VM `v` adds to the weighted score of host `h` (0 unless it runs).
  public func contribution(of v: Int, on h: Int) -> Double {
    guard vmRunning[v] else { return 0 }
    let cpu = hostCores[h] > 0 ? vmCPUDemand[v] / hostCores[h] : 0
    let memory = hostMemory[h] > 0 ? vmMemory[v] / hostMemory[h] : 0
    return weights.cpu * cpu + weights.memory * memory
  }

  /// The imbalance once VM `v` has moved from its host to `d`, in O(1).
  public func imbalanceAfterMoving(_ v: Int, to d: Int) -> Double {
    let s = hostOf[v]
    guard s != d else { return imbalance }
    var trial = accumulator
    if s >= 0, hostStates[s] == .active { trial.replace(scores[s], with: scores[s] - contribution(of: v, on: s)) }
    if hostStates[d] == .active { trial.replace(scores[d], with: scores[d] + contribution(of: v, on: d)) }
    return trial.standardDeviation
  }

  /// Weighted utilization of `d` once `v` is added to it.
  public func scoreAfterAdding(_ v: Int, to d: Int) -> Double { scores[d] + contribution(of: v, on: d) }

  // MARK: Changes

  /// Moves VM `v` to host `d`, updating loads, scores, the imbalance and rule counts.
  public mutating func move(_ v: Int, to d: Int) {
    let s = hostOf[v]
    guard s != d else { return }
    let vm = cluster.vms[v]
    if s >= 0 {
      removeLoad(of: vm, from: s)
      if let i = vmsOn[s].firstIndex(of: v) { vmsOn[s].remove(at: i) }
      for r in rulesOf[v] where policy.rules[r].kind != .vmHost {
        let left = (ruleCount[r][s] ?? 1) - 1
        ruleCount[r][s] = left > 0 ? left : nil
      }
      refreshScore(s)
    }
    loads[d].apply(vm)
    vmsOn[d].append(v)
    hostOf[v] = d
    for r in rulesOf[v] where policy.rules[r].kind != .vmHost { ruleCount[r][d, default: 0] += 1 }
    refreshScore(d)
  }

  /// Counts VM `v` on `d` as well as on its host, as the engine's reservation does until the
  /// move commits. Used to find which moves need another move's room.
  public mutating func reserve(_ v: Int, on d: Int) {
    guard hostOf[v] != d else { return }
    loads[d].apply(cluster.vms[v])
    for r in rulesOf[v] where policy.rules[r].kind != .vmHost { ruleCount[r][d, default: 0] += 1 }
    refreshScore(d)
  }

  /// Stops counting VM `v` on `h` (a reserved VM whose move off `h` has committed).
  mutating func release(_ v: Int, from h: Int) {
    removeLoad(of: cluster.vms[v], from: h)
    for r in rulesOf[v] where policy.rules[r].kind != .vmHost {
      let left = (ruleCount[r][h] ?? 1) - 1
      ruleCount[r][h] = left > 0 ? left : nil
    }
    refreshScore(h)
  }

  /// Sets host `h`'s state in the plan's view (a host put in maintenance leaves the imbalance).
  public mutating func setState(_ state: HostState, of h: Int) {
    guard hostStates[h] != state else { return }
    hostStates[h] = state
    accumulator = ImbalanceAccumulator(scores.indices.compactMap { hostStates[$0] == .active ? scores[$0] : nil })
  }

  /// Takes `vm`'s demand off host `h`; a host left with no running VM has exactly zero demand
  /// (no floating-point residue from the subtractions).
  private mutating func removeLoad(of vm: VM, from h: Int) {
    loads[h].apply(vm, sign: -1)
    if loads[h].running == 0 {
      loads[h].cpuDemand = 0
      loads[h].memoryDemand = 0
      loads[h].vcpus = 0
    }
  }

  private mutating func refreshScore(_ h: Int) {
    let new = loads[h].utilization(of: cluster.hosts[h]).weighted(weights)
    if hostStates[h] == .active { accumulator.replace(scores[h], with: new) }
    scores[h] = new
  }

  // MARK: Storage, CPU, rules

  /// Whether every disk of `v` is on a shared datastore that host `d` mounts.
  public func reachesAllStorage(_ v: Int, from d: Int) -> Bool {
    for id in vmStores[v] where !reaches(store: id, from: d) { return false }
    return true
  }

  /// Disks of `v` that must be copied to run on `d`: on datastores `d` does not mount, or local.
  public func disksToCopy(_ v: Int, to d: Int) -> [Disk] {
    let disks = cluster.vms[v].disks
    return vmStores[v].indices.compactMap { i in reaches(store: vmStores[v][i], from: d) ? nil : disks[i] }
  }

  /// Whether host `d` reaches a disk on datastore `id` where it is (``StorageCheck``); an unknown
  /// datastore (`-1`) is reached by no host.
  private func reaches(store id: Int, from d: Int) -> Bool {
    id >= 0 && StorageCheck.reaches(datastoreShared: datastoreShared[id], mounted: hostMounts[d].contains(id))
  }

  /// CPU features VM `v` was started with that host `d` lacks (empty when compatible).
  public func missingFeatures(_ v: Int, on d: Int) -> [String] { missing[vmCPU[v]][hostCPU[d]] }

  /// Migration bandwidth for a move from `s` to `d`: min(source link, destination link, cap).
  public func bandwidth(from s: Int, to d: Int) -> Bandwidth {
    var rate = cluster.hosts[d].migrationBandwidth
    if s >= 0 { rate = min(rate, cluster.hosts[s].migrationBandwidth) }
    if let cap = policy.bandwidthCap { rate = min(rate, cap) }
    return rate
  }

  /// Other members of rule `r` on host `h` (excluding `v`).
  func othersOfRule(_ r: Int, on h: Int, excluding v: Int) -> Int {
    let count = ruleCount[r][h] ?? 0
    return hostOf[v] == h ? count - 1 : count
  }

  /// Hosts holding members of rule `r` other than `v`, with how many, sorted by host position.
  func hostsOfRule(_ r: Int, excluding v: Int) -> [(host: Int, count: Int)] {
    ruleCount[r].compactMap { h, count in
      let others = hostOf[v] == h ? count - 1 : count
      return others > 0 ? (h, others) : nil
    }.sorted { $0.host < $1.host }
  }

  // MARK: Views

  /// Utilization and imbalance of the cluster now, as plans report them.
  public func view() -> ClusterView {
    let hosts = cluster.hosts.indices.map { h in
      let u = loads[h].utilization(of: cluster.hosts[h])
      return HostView(name: cluster.hosts[h].name, cpu: u.cpu, memory: u.memory, state: hostStates[h])
    }
    let active = scores.indices.compactMap { hostStates[$0] == .active ? scores[$0] : nil }
    return ClusterView(imbalance: Imbalance.standardDeviation(active), hosts: hosts)
  }
}
