import BallastModel

/// The shortest time a set of moves can take, whatever the order: a yardstick for a run's
/// makespan.
///
/// Each move is costed at the fastest rate it could ever get (its links' full bandwidth, or
/// the policy's cap) for the least it must send: a live move its touched memory once, a cold
/// move its configuration and moving disks. The bound is the largest of:
/// - **links**: for each host, the bytes of the moves through it over its link bandwidth;
/// - **host slots**: for each host, the moves' durations summed over the per-host limit;
/// - **cluster slots**: all durations summed over the cluster limit;
/// - **dependencies**: the longest chain of `dependsOn`.
/// Fixed per-stage latencies (starting containers, commits) are left out, so it stays a
/// lower bound.
public struct MakespanBound: Sendable, Hashable, Codable {
  public var seconds: Double
  /// The host whose link bounds it the most, and that bound.
  public var linkSeconds: Double
  public var linkHost: String?
  public var slotSeconds: Double
  public var chainSeconds: Double

  /// The bound for `moves` (positions in `dependsOn` refer to this array) on `cluster`.
  public static func compute(moves: [PlannedMove], cluster: Cluster, policy: Policy) -> MakespanBound {
    let hosts = Dictionary(cluster.hosts.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    let wanted = Set(moves.map(\.vm))
    let vms = Dictionary(
      cluster.vms.filter { wanted.contains($0.name) }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    var bytesThrough: [String: Double] = [:]
    var secondsThrough: [String: Double] = [:]
    var durations: [Double] = []
    for move in moves {
      let link = [move.from, move.to].compactMap { hosts[$0]?.migrationBandwidth.bytesPerSecond }.min() ?? 0
      let rate = min(link, policy.bandwidthCap?.bytesPerSecond ?? .infinity)
      let (bytes, seconds) = cost(move, vm: vms[move.vm], rate: rate, policy: policy)
      durations.append(seconds)
      for host in Set([move.from, move.to]) {
        bytesThrough[host, default: 0] += bytes
        secondsThrough[host, default: 0] += seconds
      }
    }
    var linkSeconds = 0.0
    var linkHost: String?
    for (host, bytes) in bytesThrough.sorted(by: { $0.key < $1.key }) {
      guard let bandwidth = hosts[host]?.migrationBandwidth.bytesPerSecond, bandwidth > 0 else { continue }
      if bytes / bandwidth > linkSeconds {
        linkSeconds = bytes / bandwidth
        linkHost = host
      }
    }
    let perHost = Double(max(policy.concurrency.perHost, 1))
    let perCluster = Double(max(policy.concurrency.cluster, 1))
    let hostSlots = secondsThrough.values.map { $0 / perHost }.max() ?? 0
    let clusterSlots = durations.reduce(0, +) / perCluster
    var chain = Array(repeating: 0.0, count: moves.count)
    for (i, move) in moves.enumerated() {
      let before = move.dependsOn.filter { $0 >= 0 && $0 < i }.map { chain[$0] }.max() ?? 0
      chain[i] = before + durations[i]
    }
    let slotSeconds = max(hostSlots, clusterSlots)
    let chainSeconds = chain.max() ?? 0
    return MakespanBound(
      seconds: max(linkSeconds, slotSeconds, chainSeconds), linkSeconds: linkSeconds, linkHost: linkHost,
      slotSeconds: slotSeconds, chainSeconds: chainSeconds)
  }

  /// Bytes and seconds of one move at `rate`, by the cost model.
  private static func cost(_ move: PlannedMove, vm: VM?, rate: Double, policy: Policy) -> (Double, Double) {
    guard let vm, rate > 0 else { return (move.predicted.bytes, move.predicted.seconds) }
    switch move.kind {
    case .live:
      // At the least, round 0 sends the memory the guest has touched once. (Later rounds depend
      // on the bandwidth each round gets, and with auto-converge a slower start can even end
      // sooner, so they are left out to keep this a lower bound.)
      let parameters = PreCopyParameters(vm: vm, downtimeLimit: policy.downtimeLimit, convergence: policy.convergence)
      return (parameters.touchedMemory.double, parameters.touchedMemory.double / rate)
    case .cold:
      // Only the copy counts: shutting the guest down and booting it are latencies a backend
      // may beat (the lab's tiny guests do), and counting them would not give a lower bound.
      let bytes = CostModel().copyBytes(move.disksToCopy)
      return (bytes, bytes / rate)
    }
  }
}
