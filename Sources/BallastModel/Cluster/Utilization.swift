/// CPU and memory utilization of one host: demand over capacity.
public struct HostUtilization: Sendable, Hashable, Codable {
  /// Σ(vCPUs × CPU usage) of running VMs / cores. May exceed 1 (overloaded).
  public var cpu: Double
  /// Σ(allocated memory of running VMs) / physical memory.
  public var memory: Double

  public init(cpu: Double, memory: Double) {
    self.cpu = cpu
    self.memory = memory
  }

  /// The weighted utilization the imbalance is measured on.
  public func weighted(_ weights: MetricWeights) -> Double {
    let w = weights.normalized
    return w.cpu * cpu + w.memory * memory
  }
}

/// Running totals of demand on one host, cheap to update when a VM moves.
public struct HostLoad: Sendable, Hashable {
  /// CPU demand in cores.
  public var cpuDemand: Double = 0
  /// Allocated memory of running VMs, in bytes.
  public var memoryDemand: Double = 0
  /// vCPUs of running VMs (for the CPU overcommit limit).
  public var vcpus: Int = 0
  public var running: Int = 0
  public var stopped: Int = 0

  public init() {}

  /// Adds (`sign` = 1) or removes (`sign` = -1) a VM's demand.
  public mutating func apply(_ vm: VM, sign: Int = 1) {
    if vm.state.isRunning {
      cpuDemand += Double(sign) * vm.cpuDemand
      memoryDemand += Double(sign) * vm.memoryDemand.double
      vcpus += sign * vm.vcpus
      running += sign
    } else {
      stopped += sign
    }
  }

  /// Utilization against `host`'s capacity.
  public func utilization(of host: Host) -> HostUtilization {
    HostUtilization(
      cpu: host.cores > 0 ? cpuDemand / Double(host.cores) : 0,
      memory: host.memory.bytes > 0 ? memoryDemand / host.memory.double : 0)
  }
}

extension Cluster {
  /// Demand totals per host, in the order of `hosts`. VMs on unknown hosts are ignored.
  public func hostLoads(index: ClusterIndex? = nil) -> [HostLoad] {
    let index = index ?? ClusterIndex(self)
    var loads = Array(repeating: HostLoad(), count: hosts.count)
    for vm in vms {
      if let h = index.hostPosition[vm.host] { loads[h].apply(vm) }
    }
    return loads
  }

  /// Utilization per host, in the order of `hosts`.
  public func utilizations(index: ClusterIndex? = nil) -> [HostUtilization] {
    zip(hosts, hostLoads(index: index)).map { $1.utilization(of: $0) }
  }
}

/// The one definition of cluster imbalance.
///
/// Imbalance is the population standard deviation, over **active** hosts, of each host's
/// weighted utilization `w_cpu · cpu + w_mem · memory` (weights normalized to sum to 1;
/// default 0.5 / 0.5), where cpu = Σ(vCPUs × usage.cpu) / cores and memory = Σ(allocated
/// memory of running VMs) / memory. Stopped and suspended VMs are not load. 0 means every
/// active host is equally loaded; hosts in maintenance do not count.
public enum Imbalance {
  /// Imbalance of `cluster` under `weights`.
  public static func of(_ cluster: Cluster, weights: MetricWeights = MetricWeights()) -> Double {
    let utilizations = cluster.utilizations()
    let values = zip(cluster.hosts, utilizations).compactMap { host, u in
      host.state == .active ? u.weighted(weights) : nil
    }
    return standardDeviation(values)
  }

  /// Population standard deviation of `values` (0 for fewer than two values).
  public static func standardDeviation(_ values: [Double]) -> Double {
    guard values.count > 1 else { return 0 }
    let mean = values.reduce(0, +) / Double(values.count)
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
    return variance.squareRoot()
  }
}

/// Sum and sum of squares of host scores: the imbalance in O(1) after each trial move.
public struct ImbalanceAccumulator: Sendable, Hashable {
  public private(set) var count: Int = 0
  public private(set) var sum: Double = 0
  public private(set) var sumOfSquares: Double = 0

  public init(_ values: [Double] = []) {
    for v in values { add(v) }
  }

  public mutating func add(_ value: Double) {
    count += 1
    sum += value
    sumOfSquares += value * value
  }

  /// Replaces one host's score `old` with `new`.
  public mutating func replace(_ old: Double, with new: Double) {
    sum += new - old
    sumOfSquares += new * new - old * old
  }

  /// Population standard deviation of the current values.
  public var standardDeviation: Double {
    guard count > 1 else { return 0 }
    let mean = sum / Double(count)
    return max(0, sumOfSquares / Double(count) - mean * mean).squareRoot()
  }
}
