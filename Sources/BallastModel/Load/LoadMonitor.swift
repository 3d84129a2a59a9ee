/// Smooths load samples over a window and tracks which hosts are stale.
///
/// One spike moves nothing: planners see the smoothed usage, not the last sample. A host
/// whose last sample is older than `staleAfter` is stale; the loop neither moves VMs off it
/// nor onto it. A value type: the loop owns one and feeds it each interval.
public struct LoadMonitor: Sendable, Hashable {
  public var settings: MonitorSettings
  private var samples: [String: [LoadSample]] = [:]
  private var hostLastSeen: [String: Double] = [:]

  public init(settings: MonitorSettings) { self.settings = settings }

  /// Records one VM's usage at time `at` (seconds), dropping samples older than the window.
  public mutating func record(vm: String, at: Double, usage: Usage) {
    var list = samples[vm, default: []]
    list.append(LoadSample(at: at, cpu: usage.cpu, memory: usage.memory))
    let oldest = at - settings.window.seconds
    if let first = list.firstIndex(where: { $0.at >= oldest }), first > 0 { list.removeFirst(first) }
    samples[vm] = list
  }

  /// Records that `host` answered at time `at`.
  public mutating func heard(host: String, at: Double) { hostLastSeen[host] = at }

  /// Records every host and VM of `cluster` as sampled at `at`.
  public mutating func record(_ cluster: Cluster, at: Double) {
    for host in cluster.hosts { heard(host: host.name, at: at) }
    for vm in cluster.vms where vm.state.isRunning { record(vm: vm.name, at: at, usage: vm.usage) }
  }

  /// The smoothed usage of `vm`, or `nil` when it has no samples.
  public func smoothed(vm: String) -> Usage? {
    guard let list = samples[vm], !list.isEmpty else { return nil }
    switch settings.method {
    case .mean:
      let n = Double(list.count)
      return Usage(cpu: list.reduce(0) { $0 + $1.cpu } / n, memory: list.reduce(0) { $0 + $1.memory } / n)
    case .ewma:
      var cpu = list[0].cpu
      var memory = list[0].memory
      for sample in list.dropFirst() {
        cpu = settings.alpha * sample.cpu + (1 - settings.alpha) * cpu
        memory = settings.alpha * sample.memory + (1 - settings.alpha) * memory
      }
      return Usage(cpu: cpu, memory: memory)
    }
  }

  /// Hosts not heard from within `staleAfter` of `now` (or never), sorted.
  public func staleHosts(in cluster: Cluster, now: Double) -> [String] {
    cluster.hosts.map(\.name).filter { name in
      guard let seen = hostLastSeen[name] else { return true }
      return now - seen > settings.staleAfter.seconds
    }
  }

  /// `cluster` with every VM's usage replaced by its smoothed usage (VMs without samples keep theirs).
  public func smoothedCluster(_ cluster: Cluster) -> Cluster {
    var result = cluster
    for i in result.vms.indices {
      if let usage = smoothed(vm: result.vms[i].name) { result.vms[i].usage = usage }
    }
    return result
  }
}
