/// Where a figure the cost model uses comes from.
public enum FigureSource: Sendable, Hashable, Codable, CustomStringConvertible {
  /// The cluster file, or the hypervisor's inventory.
  case file
  /// The model's prior: nothing gives it (``CostPriors``).
  case assumed
  /// Learned from this many completed migrations.
  case learned(migrations: Int)

  public var description: String {
    switch self {
    case .file: "from the file"
    case .assumed: "assumed"
    case .learned(let n): "learned from \(n) migration\(n == 1 ? "" : "s")"
    }
  }

  /// Whether the figure was learned.
  public var isLearned: Bool {
    if case .learned = self { return true }
    return false
  }
}

/// One figure of the cost model and where it comes from.
public struct Figure: Sendable, Hashable, Codable {
  public var value: Double
  public var source: FigureSource

  public init(_ value: Double, _ source: FigureSource) {
    self.value = value
    self.source = source
  }
}

/// The figures the cost model uses for one VM.
public struct VMFigures: Sendable, Hashable, Codable {
  /// Memory the guest has written, bytes (the first pass sends it; the rest are zero pages).
  public var touchedMemory: Figure
  /// Dirty rate, bytes per second.
  public var dirtyRate: Figure
  /// A clean shutdown, seconds.
  public var shutdownSeconds: Figure
  /// A boot, seconds.
  public var bootSeconds: Figure
}

/// The figures the cost model uses for the link from one host to another.
public struct LinkFigures: Sendable, Hashable, Codable {
  /// The declared link: the slower of the two hosts' migration bandwidths, bytes per second.
  public var nominal: Double
  /// Share of the nominal rate a transfer achieves (0…1).
  public var efficiency: Figure
  /// The fixed part of the stop-and-copy pause, seconds.
  public var pauseSeconds: Figure
  /// The final copy's rate (no cap applies), bytes per second.
  public var finalRate: Figure
  public var liveSetupSeconds: Figure
  public var liveFinishSeconds: Figure
  public var coldSetupSeconds: Figure
  public var coldFinishSeconds: Figure

  /// The link's effective capacity: what one transfer alone achieves without a cap.
  public var capacity: Double { nominal * efficiency.value }
}

/// How one move unfolds in time: what the planner's timeline simulates, with the links shared.
public struct MoveProfile: Sendable, Hashable {
  public var kind: MigrationKind
  public var from: String
  public var to: String
  /// Seconds before the transfer (for a cold move of a running VM, with its shutdown).
  public var setupSeconds: Double
  /// Seconds after the transfer (for a cold move of a running VM, with its boot).
  public var finishSeconds: Double
  /// The live transfer's inputs (`nil` for a cold move).
  public var live: PreCopyParameters?
  /// Bytes a cold move copies.
  public var copyBytes: Double
  /// The policy's bandwidth cap, bytes per second.
  public var cap: Double?
  /// Share of its nominal rate the transfer achieves.
  public var efficiency: Double
  /// The final copy's rate when it was learned (the transfer's share of the links otherwise).
  public var finalRate: Double?
  /// Whether the VM runs and is down from its shutdown to its boot (cold).
  public var shutsDown: Bool
}

/// The cost model: the pre-copy model (``PreCopyRun``) and the cold model, fed with each VM's
/// and link's figures — learned where migrations taught them (``LearnedEstimates``), else the
/// file's, else the priors (``CostPriors``).
///
/// A live move costs its setup, the pre-copy at the link's rate (× its learned efficiency,
/// under the policy's cap), the pause (a fixed part plus what is left over the final copy's
/// rate) and its finish. A cold move costs its setup, the shutdown of a running guest, the copy
/// of its configuration and of the disks the destination does not mount (their allocated size),
/// its finish and the boot.
public struct CostModel: Sendable, Hashable {
  public var priors: CostPriors
  /// What history taught (``LearnedEstimates/empty`` to use the file's values only).
  public var learned: LearnedEstimates
  /// Whether a bandwidth cap is QEMU's windowed rate limiter (QEMU and libvirt hosts), not a
  /// steady rate (the simulated hypervisors): see ``RateLimiterWindows``.
  public var rateLimiter: Bool

  public init(priors: CostPriors = CostPriors(), learned: LearnedEstimates = .empty, rateLimiter: Bool = false) {
    self.priors = priors
    self.learned = learned
    self.rateLimiter = rateLimiter
  }

  /// The model for `cluster`'s hypervisors: QEMU's rate limiter unless they are simulated, and
  /// their own priors (``CostPriors/init(for:)``) unless `priors` are given.
  public init(for cluster: Cluster, learned: LearnedEstimates = .empty, priors: CostPriors? = nil) {
    self.init(
      priors: priors ?? CostPriors(for: cluster.driver), learned: learned, rateLimiter: cluster.driver.capsByWindows)
  }

  // MARK: Figures

  /// The figures for `vm`, each learned, from the file, or assumed.
  public func figures(for vm: VM) -> VMFigures {
    let known = learned.vms[vm.name]
    func pick(_ estimate: Estimate?, file: Double?, assumed: Double) -> Figure {
      if let estimate, estimate.count > 0 { return Figure(estimate.value, .learned(migrations: estimate.count)) }
      if let file { return Figure(file, .file) }
      return Figure(assumed, .assumed)
    }
    let touched = PreCopyParameters.touchedMemory(of: vm).double
    var touchedFigure = pick(known?.touchedMemory, file: touched, assumed: touched)
    touchedFigure.value = min(max(touchedFigure.value, 0), vm.memory.double)
    return VMFigures(
      touchedMemory: touchedFigure,
      dirtyRate: pick(known?.dirtyRate, file: vm.dirtyRate.bytesPerSecond, assumed: 0),
      shutdownSeconds: pick(known?.shutdownSeconds, file: vm.shutdownTime?.seconds, assumed: priors.shutdownSeconds),
      bootSeconds: pick(known?.bootSeconds, file: vm.bootTime?.seconds, assumed: priors.bootSeconds))
  }

  /// The figures for the link from `from` to `to` (`from` unknown: `to`'s link alone).
  public func link(from: Host?, to: Host) -> LinkFigures {
    let nominal = min(from?.migrationBandwidth.bytesPerSecond ?? .infinity, to.migrationBandwidth.bytesPerSecond)
    let known = from.flatMap { learned.links.isEmpty ? nil : learned.links[HostPair(from: $0.name, to: to.name)] }
    func pick(_ estimate: Estimate?, _ prior: Double) -> Figure {
      if let estimate, estimate.count > 0 { return Figure(estimate.value, .learned(migrations: estimate.count)) }
      return Figure(prior, .assumed)
    }
    var efficiency = pick(known?.efficiency, 1)
    efficiency.value = min(max(efficiency.value, 0.01), 1)
    let pause: Figure
    let final: Figure
    if let line = known?.pause, line.count > 0 {
      pause = Figure(line.intercept, .learned(migrations: line.count))
      final = Figure(line.slope > 0 ? 1 / line.slope : nominal * efficiency.value, .learned(migrations: line.count))
    } else {
      pause = Figure(priors.pauseSeconds, .assumed)
      final = Figure(nominal * efficiency.value, efficiency.source == .assumed ? .file : efficiency.source)
    }
    return LinkFigures(
      nominal: nominal, efficiency: efficiency, pauseSeconds: pause, finalRate: final,
      liveSetupSeconds: pick(known?.liveSetupSeconds, priors.liveSetupSeconds),
      liveFinishSeconds: pick(known?.liveFinishSeconds, priors.liveFinishSeconds),
      coldSetupSeconds: pick(known?.coldSetupSeconds, priors.coldSetupSeconds),
      coldFinishSeconds: pick(known?.coldFinishSeconds, priors.coldFinishSeconds))
  }

  // MARK: Live

  /// The pre-copy inputs for moving `vm` live over `link` under `policy`.
  /// With QEMU's rate limiter (``rateLimiter``) and a cap below the link, the rounds are paced
  /// by its windows, their bytes leaving at the final copy's rate.
  public func liveParameters(vm: VM, link: LinkFigures, policy: Policy) -> PreCopyParameters {
    let figures = figures(for: vm)
    var limiter: RateLimiterWindows?
    if rateLimiter, let cap = policy.bandwidthCap?.bytesPerSecond, cap < link.nominal {
      limiter = RateLimiterWindows(
        cappedRate: preCopyRate(link, policy: policy).bytesPerSecond, burstRate: link.finalRate.value)
    }
    return PreCopyParameters(
      memory: vm.memory, touchedMemory: ByteCount(Int64(figures.touchedMemory.value.rounded())),
      dirtyRate: Bandwidth(bytesPerSecond: figures.dirtyRate.value), workingSet: vm.workingSet,
      downtimeLimit: policy.downtimeLimit, convergence: policy.convergence, cpuBusy: vm.usage.cpu,
      pauseOverhead: TimeSpan(seconds: link.pauseSeconds.value), rateLimiter: limiter)
  }

  /// The rate pre-copy gets over `link` alone under `policy`'s cap.
  public func preCopyRate(_ link: LinkFigures, policy: Policy) -> Bandwidth {
    Bandwidth(
      bytesPerSecond: min(link.nominal, policy.bandwidthCap?.bytesPerSecond ?? .infinity) * link.efficiency.value)
  }

  /// The whole live move of `vm` from `from` to `to`, alone on the link: setup, pre-copy,
  /// pause and finish (`totalSeconds` counts them all).
  public func predictLive(vm: VM, from: Host?, to: Host, policy: Policy) -> LivePrediction {
    predictLive(vm: vm, link: link(from: from, to: to), policy: policy)
  }

  /// The whole live move of `vm` over `link`, alone on it: ``predictTransfer(vm:link:policy:)``
  /// and the steps around it.
  public func predictLive(vm: VM, link: LinkFigures, policy: Policy) -> LivePrediction {
    var prediction = predictTransfer(vm: vm, link: link, policy: policy)
    prediction.totalSeconds += link.liveSetupSeconds.value + link.liveFinishSeconds.value
    return prediction
  }

  /// The live transfer alone (pre-copy at the link's rate under the cap, then the pause) of
  /// `vm` over `link`: what the hypervisor times as the migration.
  public func predictTransfer(vm: VM, link: LinkFigures, policy: Policy) -> LivePrediction {
    PreCopyRun.predict(
      liveParameters(vm: vm, link: link, policy: policy), bandwidth: preCopyRate(link, policy: policy),
      finalBandwidth: Bandwidth(bytesPerSecond: link.finalRate.value))
  }

  // MARK: Cold

  /// The whole cold move of `vm`, copying `disksToCopy`, from `from` to `to`, alone on the link.
  /// A running VM is shut down first and started again: all of it is downtime.
  public func predictCold(
    vm: VM, disksToCopy: [Disk], from: Host?, to: Host, policy: Policy
  ) -> ColdPrediction {
    let link = link(from: from, to: to)
    let bytes = copyBytes(disksToCopy)
    let copySeconds = bytes / max(preCopyRate(link, policy: policy).bytesPerSecond, 1)
    let figures = figures(for: vm)
    let running = vm.state.isRunning
    let steps = link.coldSetupSeconds.value + link.coldFinishSeconds.value
    let power = running ? figures.shutdownSeconds.value + figures.bootSeconds.value : 0
    let total = copySeconds + steps + power
    return ColdPrediction(totalSeconds: total, downtimeSeconds: running ? total : 0, bytes: bytes)
  }

  /// Bytes a cold move sends: the configuration and each disk's allocated size.
  public func copyBytes(_ disks: [Disk]) -> Double {
    disks.reduce(priors.configurationBytes.double) { $0 + $1.bytesToCopy.double }
  }

  // MARK: Schedule

  /// How `move` of `vm` unfolds, for a timeline that shares the links between moves.
  public func profile(
    _ move: PlannedMove, vm: VM, from: Host?, to: Host, policy: Policy
  ) -> MoveProfile {
    let link = link(from: from, to: to)
    let learnedFinal = link.finalRate.source.isLearned ? link.finalRate.value : nil
    switch move.kind {
    case .live:
      return MoveProfile(
        kind: .live, from: move.from, to: move.to, setupSeconds: link.liveSetupSeconds.value,
        finishSeconds: link.liveFinishSeconds.value, live: liveParameters(vm: vm, link: link, policy: policy),
        copyBytes: 0, cap: policy.bandwidthCap?.bytesPerSecond, efficiency: link.efficiency.value,
        finalRate: learnedFinal, shutsDown: false)
    case .cold:
      let figures = figures(for: vm)
      let running = vm.state.isRunning
      return MoveProfile(
        kind: .cold, from: move.from, to: move.to,
        setupSeconds: link.coldSetupSeconds.value + (running ? figures.shutdownSeconds.value : 0),
        finishSeconds: link.coldFinishSeconds.value + (running ? figures.bootSeconds.value : 0), live: nil,
        copyBytes: copyBytes(move.disksToCopy), cap: policy.bandwidthCap?.bytesPerSecond,
        efficiency: link.efficiency.value, finalRate: nil, shutsDown: running)
    }
  }
}

/// What the cold model predicts for one cold migration.
public struct ColdPrediction: Sendable, Hashable, Codable {
  public var totalSeconds: Double
  /// Outage of a VM that was running (0 for one that was off).
  public var downtimeSeconds: Double
  public var bytes: Double
}
