/// How to balance: what counts as imbalance, how hard to push, and the limits on moving VMs.
///
/// Every field has a default (the shipped `policies/balanced.yaml`), so a policy file only
/// names what it changes.
public struct Policy: Sendable, Hashable, Codable {
  public var version: Int = 1
  public var name: String = "balanced"
  /// Weights of CPU and memory in a host's utilization; normalized to sum to 1.
  public var weights: MetricWeights = MetricWeights()
  /// Imbalance (see ``Imbalance``) above which the cluster is rebalanced.
  public var threshold: Double = 0.05
  /// How long the imbalance must stay above the threshold before the loop acts.
  public var holdFor: TimeSpan = .minutes(10)
  /// 1 (only moves with a large gain) … 5 (also small gains); scales `minImprovement`.
  public var aggressiveness: Int = 3
  /// Smallest imbalance reduction one move must bring at aggressiveness 3.
  public var minImprovement: Double = 0.002
  /// Most moves one balance round may plan.
  public var maxMovesPerRound: Int = 8
  /// Time a VM stays put after it moved (and does not go back to the host it left).
  public var cooldown: TimeSpan = .hours(1)
  /// Allocation limits: vCPUs per core and memory allocated per byte of host memory.
  public var overcommit: Overcommit = Overcommit()
  /// Concurrent migrations.
  public var concurrency: Concurrency = Concurrency()
  /// Bandwidth one migration may use at most; `nil` means the link's share.
  public var bandwidthCap: Bandwidth? = nil
  /// Longest pause a live migration may impose (the stop-and-copy phase).
  public var downtimeLimit: TimeSpan = .milliseconds(300)
  /// What to do with a running VM that cannot migrate live.
  public var liveIneligible: LiveIneligibleAction = .cold
  /// Pre-copy stopping rules and what to do when it does not converge.
  public var convergence: Convergence = Convergence()
  /// What happens to in-flight migrations when Ballast is told to stop.
  public var onCancel: CancelAction = .finish
  /// Load smoothing and staleness for the balancing loop.
  public var monitor: MonitorSettings = MonitorSettings()
  /// Affinity, anti-affinity and VM–host rules.
  public var rules: [PlacementRule] = []

  public init() {}

  /// `minImprovement` adjusted for `aggressiveness`: ×4 at 1, ×2 at 2, ×1 at 3, ÷2 at 4, ÷4 at 5.
  public var effectiveMinImprovement: Double {
    let level = min(max(aggressiveness, 1), 5)
    return minImprovement * Double(1 << (5 - level)) / 4
  }

  /// A gap between two observations of the imbalance longer than this breaks the hold: three
  /// intervals (`interval`, else `monitor.interval`), or `monitor.staleAfter` when longer.
  public func holdGap(interval: Double? = nil) -> Double {
    max(3 * (interval ?? monitor.interval.seconds), monitor.staleAfter.seconds)
  }

  /// The shortest time host samples may be kept: what rebuilding the hold after a restart
  /// reads back, `holdFor` + ``holdGap(interval:)``.
  public func minimumSampleRetention(interval: Double? = nil) -> TimeSpan {
    TimeSpan(seconds: holdFor.seconds + holdGap(interval: interval))
  }

  /// How long the loop keeps host samples: `monitor.sampleRetention`, never less than
  /// ``minimumSampleRetention(interval:)``.
  public func sampleRetention(interval: Double? = nil) -> TimeSpan {
    max(monitor.sampleRetention, minimumSampleRetention(interval: interval))
  }

  /// Clusters up to this many active hosts use `minImprovement` as written.
  public static let minImprovementReferenceHosts = 16

  /// The smallest imbalance reduction a move must bring in a cluster of `activeHosts`:
  /// ``effectiveMinImprovement``, scaled by 16 / `activeHosts` above 16 hosts.
  ///
  /// One move changes a standard deviation over N hosts by about 1/N, so an absolute minimum
  /// that suits 10 hosts would forbid every move at 1,000; scaling keeps a policy meaning
  /// the same thing on any cluster size.
  public func minimumGain(activeHosts: Int) -> Double {
    let reference = Double(Self.minImprovementReferenceHosts)
    return effectiveMinImprovement * min(1, reference / Double(max(activeHosts, 1)))
  }
}

/// Weights of the two metrics in a host's utilization.
public struct MetricWeights: Sendable, Hashable, Codable {
  public var cpu: Double = 0.5
  public var memory: Double = 0.5

  public init(cpu: Double = 0.5, memory: Double = 0.5) {
    self.cpu = cpu
    self.memory = memory
  }

  /// The weights scaled to sum to 1 (equal weights when both are zero).
  public var normalized: MetricWeights {
    let sum = cpu + memory
    return sum > 0 ? MetricWeights(cpu: cpu / sum, memory: memory / sum) : MetricWeights()
  }
}

/// How far allocations may exceed physical capacity.
public struct Overcommit: Sendable, Hashable, Codable {
  /// vCPUs of running VMs per physical core.
  public var cpu: Double = 4.0
  /// Allocated memory of running VMs per byte of physical memory.
  public var memory: Double = 1.0

  public init(cpu: Double = 4.0, memory: Double = 1.0) {
    self.cpu = cpu
    self.memory = memory
  }
}

/// Limits on migrations that run at once.
public struct Concurrency: Sendable, Hashable, Codable {
  /// Migrations a host takes part in at once (as source or destination).
  public var perHost: Int = 2
  /// Migrations in the whole cluster at once.
  public var cluster: Int = 8

  public init(perHost: Int = 2, cluster: Int = 8) {
    self.perHost = perHost
    self.cluster = cluster
  }
}

/// What to do with a running VM that cannot migrate live (storage, CPU or convergence).
public enum LiveIneligibleAction: String, Sendable, Hashable, Codable, CaseIterable {
  /// Shut it down, move it cold, start it again; the outage is reported.
  case cold
  /// Leave it where it is and say why.
  case skip
  /// Refuse the whole plan.
  case fail
}

/// When pre-copy stops, and what happens when it will not converge.
public struct Convergence: Sendable, Hashable, Codable {
  /// `qemu`: stop when what remains fits in the downtime limit; `xen`: the same plus the
  /// round cap and the 3×memory total cap.
  public var stopRule: StopRule = .qemu
  /// Most pre-copy rounds (Xen used 30).
  public var maxRounds: Int = 30
  /// Most bytes sent, as a multiple of the VM's memory, before giving up (Xen: 3).
  public var maxTotalFactor: Double = 3.0
  /// What to do when pre-copy does not converge.
  public var onNoConvergence: NoConvergenceAction = .throttle
  /// First guest CPU throttle of auto-converge.
  public var throttleInitial: Double = 0.2
  /// Throttle added at each further step.
  public var throttleIncrement: Double = 0.1
  /// Highest throttle auto-converge may reach.
  public var throttleMax: Double = 0.99
  /// Highest downtime `raiseLimit` may accept.
  public var maxDowntime: TimeSpan = .seconds(2)

  public init() {}
}

/// Pre-copy stop rules.
public enum StopRule: String, Sendable, Hashable, Codable, CaseIterable {
  case qemu
  case xen
}

/// Policy for a live migration that does not converge.
public enum NoConvergenceAction: String, Sendable, Hashable, Codable, CaseIterable {
  /// Slow the guest's vCPUs down (QEMU auto-converge) until it converges.
  case throttle
  /// Accept a longer pause, up to `maxDowntime`.
  case raiseLimit
  /// Stop the migration; the VM keeps running on its source.
  case abort
  /// Stop-and-copy anyway, whatever the downtime.
  case accept
}

/// What happens to in-flight migrations on SIGTERM / Ctrl-C.
public enum CancelAction: String, Sendable, Hashable, Codable, CaseIterable {
  /// Let them complete; start no new ones.
  case finish
  /// Abort them where it is safe (before commitment); the VM stays on its source.
  case abort
}

/// Load smoothing and staleness for the balancing loop.
public struct MonitorSettings: Sendable, Hashable, Codable {
  /// How often the loop samples.
  public var interval: TimeSpan = .seconds(60)
  /// Window the samples are smoothed over.
  public var window: TimeSpan = .minutes(15)
  /// `mean` (moving average over the window) or `ewma`.
  public var method: SmoothingMethod = .ewma
  /// EWMA weight of the newest sample.
  public var alpha: Double = 0.3
  /// A host whose newest sample is older than this is stale: nothing moves onto or off it.
  public var staleAfter: TimeSpan = .minutes(3)
  /// How long the loop keeps host samples in the history; older ones are deleted each round.
  /// Never shorter than ``Policy/minimumSampleRetention(interval:)``.
  public var sampleRetention: TimeSpan = .days(7)

  public init() {}
}

/// Smoothing methods for load samples.
public enum SmoothingMethod: String, Sendable, Hashable, Codable, CaseIterable {
  case mean
  case ewma
}

extension TimeSpan {
  /// `n` seconds.
  public static func seconds(_ n: Double) -> TimeSpan { TimeSpan(seconds: n) }
}
