/// The cost model's figures before anything is known about a VM or a link: what a move costs
/// besides its transfer, and how long a guest takes to stop and start when its description
/// does not say.
///
/// Every one of them is learned per host pair or per VM from completed migrations
/// (``CostLearner``); these are where learning starts. The defaults are those of the
/// simulated hypervisors (``SimulationTimings`` uses them), so a simulated cluster runs
/// exactly as predicted until it is given a hidden truth; ``init(for:)`` gives a driver's own.
public struct CostPriors: Sendable, Hashable, Codable {
  /// Live: from the move's start to its first byte (the checks, the destination's empty container).
  public var liveSetupSeconds = 0.2
  /// Live: from the end of the pause to the move's end (the destination's confirmation, the
  /// resume and the announcement).
  public var liveFinishSeconds = 0.06
  /// The fixed part of the stop-and-copy pause (stopping the vCPUs, the device state, the
  /// take-over), on top of copying what is left.
  public var pauseSeconds = 0.005
  /// Cold: from the move's start to the copy, besides a shutdown (the checks, the reservation).
  public var coldSetupSeconds = 0.2
  /// Cold: from the end of the copy to the start (defining the VM on the destination,
  /// removing the source).
  public var coldFinishSeconds = 0.6
  /// A clean guest shutdown, for a VM whose description gives none.
  public var shutdownSeconds = 20.0
  /// A guest boot, for a VM whose description gives none.
  public var bootSeconds = 15.0
  /// Size of a VM's definition and logs, copied by every cold move.
  public var configurationBytes: ByteCount = .mib(1)

  public init() {}
}

extension CostPriors {
  /// The priors for `driver`'s hypervisors: the defaults, with the live steps and pause the
  /// QEMU driver measures (a QEMU started with `-incoming` on the destination is most of the
  /// setup; the guest's outage runs from its stop on the source through the destination's
  /// loading, the commitment and the resume; the finish is the source's exit). Medians of the
  /// 75 live moves of `ballast calibrate --cluster clusters/lab.yaml --migrations 5` (TCG,
  /// 2 cores): setup 0.081 s (p10 0.062, p90 0.129), finish 0.015 s (p10 0.011, p90 0.020),
  /// outage 0.020 s (p10 0.015, p90 0.075; under a MiB left to copy). libvirt's depend on the
  /// daemons and are learned from the first migrations.
  public init(for driver: DriverKind) {
    self.init()
    if driver == .qemu {
      liveSetupSeconds = 0.08
      liveFinishSeconds = 0.015
      pauseSeconds = 0.02
    }
  }
}
