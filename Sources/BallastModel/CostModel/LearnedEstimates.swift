/// What completed migrations taught about one VM.
public struct VMEstimates: Sendable, Hashable, Codable {
  /// Effective dirty rate, bytes per second (unthrottled).
  public var dirtyRate: Estimate?
  /// Memory the guest has written (what the first pass sends), bytes.
  public var touchedMemory: Estimate?
  /// A clean shutdown, seconds.
  public var shutdownSeconds: Estimate?
  /// A boot, seconds.
  public var bootSeconds: Estimate?

  public init(
    dirtyRate: Estimate? = nil, touchedMemory: Estimate? = nil, shutdownSeconds: Estimate? = nil,
    bootSeconds: Estimate? = nil
  ) {
    self.dirtyRate = dirtyRate
    self.touchedMemory = touchedMemory
    self.shutdownSeconds = shutdownSeconds
    self.bootSeconds = bootSeconds
  }

  /// Whether nothing was learned.
  public var isEmpty: Bool { self == VMEstimates() }

  /// The most migrations any of its figures learned from.
  public var migrations: Int {
    [dirtyRate, touchedMemory, shutdownSeconds, bootSeconds].compactMap { $0?.count }.max() ?? 0
  }
}

/// What completed migrations taught about the link from one host to another.
public struct LinkEstimates: Sendable, Hashable, Codable {
  /// Share of its nominal rate a transfer achieves, once normalized by the transfers it shared
  /// the links with (0…1): the link's effective capacity over its declared bandwidth.
  public var efficiency: Estimate?
  /// The stop-and-copy pause: seconds = intercept + slope × bytes left at the stop.
  public var pause: LineEstimate?
  /// Live: seconds from the move's start to its first byte.
  public var liveSetupSeconds: Estimate?
  /// Live: seconds from the end of the pause to the move's end.
  public var liveFinishSeconds: Estimate?
  /// Cold: seconds of the steps before the copy, besides the shutdown.
  public var coldSetupSeconds: Estimate?
  /// Cold: seconds of the steps after the copy, besides the boot.
  public var coldFinishSeconds: Estimate?

  public init(
    efficiency: Estimate? = nil, pause: LineEstimate? = nil, liveSetupSeconds: Estimate? = nil,
    liveFinishSeconds: Estimate? = nil, coldSetupSeconds: Estimate? = nil, coldFinishSeconds: Estimate? = nil
  ) {
    self.efficiency = efficiency
    self.pause = pause
    self.liveSetupSeconds = liveSetupSeconds
    self.liveFinishSeconds = liveFinishSeconds
    self.coldSetupSeconds = coldSetupSeconds
    self.coldFinishSeconds = coldFinishSeconds
  }

  /// Whether nothing was learned.
  public var isEmpty: Bool { self == LinkEstimates() }

  /// The most migrations any of its figures learned from.
  public var migrations: Int {
    ([efficiency, liveSetupSeconds, liveFinishSeconds, coldSetupSeconds, coldFinishSeconds].compactMap { $0?.count }
      + [pause?.count ?? 0]).max() ?? 0
  }
}

/// A directed pair of hosts: the link a migration from `from` to `to` uses.
public struct HostPair: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
  public var from: String
  public var to: String

  public init(from: String, to: String) {
    self.from = from
    self.to = to
  }

  public var description: String { "\(from)→\(to)" }

  /// The same hosts the other way.
  public var reversed: HostPair { HostPair(from: to, to: from) }

  public static func < (a: HostPair, b: HostPair) -> Bool { (a.from, a.to) < (b.from, b.to) }
}

/// Everything learned about a cluster's VMs and links (kept in the history database).
public struct LearnedEstimates: Sendable, Hashable, Codable {
  public var vms: [String: VMEstimates]
  public var links: [HostPair: LinkEstimates]

  public init(vms: [String: VMEstimates] = [:], links: [HostPair: LinkEstimates] = [:]) {
    self.vms = vms
    self.links = links
  }

  /// Nothing learned.
  public static let empty = LearnedEstimates()

  public var isEmpty: Bool { vms.isEmpty && links.isEmpty }

  /// Takes in what `observation` shows (``CostLearner``): the estimates of its VM and of its
  /// host pair, and the step figures of the pair the other way.
  public mutating func learn(from observation: MigrationObservation, settings: LearningSettings = LearningSettings()) {
    var vm = vms[observation.vm] ?? VMEstimates()
    let pair = HostPair(from: observation.from, to: observation.to)
    var link = links[pair] ?? LinkEstimates()
    CostLearner.learn(from: observation, vm: &vm, link: &link, settings: settings)
    vms[observation.vm] = vm
    links[pair] = link
    var reverse = links[pair.reversed] ?? LinkEstimates()
    CostLearner.learnSteps(from: observation, link: &reverse, settings: settings)
    links[pair.reversed] = reverse
  }
}
