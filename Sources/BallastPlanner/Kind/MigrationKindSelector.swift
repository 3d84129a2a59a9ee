import BallastModel

/// Why a running VM cannot move live to one destination.
public enum LiveObstacle: Sendable, Hashable {
  /// These disks are local, or on datastores the destination does not mount.
  case storage(disks: [Disk])
  /// The destination CPU lacks these features the VM was started with.
  case cpu(vmModel: String, hostModel: String, missing: [String])
  /// Pre-copy is predicted not to converge at this bandwidth.
  case convergence(bandwidth: Bandwidth, reason: String)

  /// The check that found it: `storage`, `cpu-compatibility` or `convergence`.
  public var check: MoveCheck {
    switch self {
    case .storage: .storage
    case .cpu: .cpuCompatibility
    case .convergence: .convergence
    }
  }

  /// The check's name, as rejections show it.
  public var filter: String { check.name }

  /// The obstacle in an operator's words (storage and CPU: the sentences of ``StorageCheck`` and
  /// ``CPUCheck``, which the engine's stage 0 uses too).
  public func sentence(vm: String, host: String) -> String {
    switch self {
    case .storage(let disks):
      return StorageCheck.sentence(disks: disks, vm: vm, host: host)
    case .cpu(let vmModel, let hostModel, let missing):
      return CPUCheck.sentence(vm: vm, vmModel: vmModel, host: host, hostModel: hostModel, missing: missing)
    case .convergence(let bandwidth, let reason):
      return "at \(bandwidth) \(reason)"
    }
  }

  /// The obstacle as a rejection of `host` for `vm`.
  public func rejection(vm: String, host: String) -> Rejection {
    Rejection(vm: vm, host: host, check: check, reason: sentence(vm: vm, host: host))
  }
}

/// How one VM would move to one destination, and what the move is predicted to cost.
public struct MoveDecision: Sendable, Hashable {
  public var kind: MigrationKind
  public var predicted: PredictedCost
  /// A running VM that moves cold: it is shut down first and started on the destination.
  public var requiresShutdown: Bool
  /// Why a running VM does not move live (`nil` when it does, or when it is off).
  public var whyNotLive: LiveObstacle?
  /// Cost in ``MigrationCost`` units.
  public var costUnits: Double

  public init(kind: MigrationKind, predicted: PredictedCost, requiresShutdown: Bool, whyNotLive: LiveObstacle?) {
    self.kind = kind
    self.predicted = predicted
    self.requiresShutdown = requiresShutdown
    self.whyNotLive = whyNotLive
    self.costUnits = MigrationCost.units(predicted)
  }
}

/// The kind selection's answer for one VM and destination.
public enum KindVerdict: Sendable, Hashable {
  /// The VM can move, live or cold.
  case move(MoveDecision)
  /// A running VM that cannot move live, under `liveIneligible: skip` (`refusesPlan` false)
  /// or `fail` (`refusesPlan` true: a plan that needs this move must be refused).
  case ineligible(Rejection, refusesPlan: Bool)

  /// The decision, when the VM can move.
  public var decision: MoveDecision? {
    if case .move(let decision) = self { return decision }
    return nil
  }
}

/// Chooses live or cold per VM and destination, as docs/ARCHITECTURE.md's kind table says.
///
/// Stopped or suspended → cold. Running, with every disk on a shared datastore the destination
/// mounts (`storage`), a destination CPU offering every feature the VM was started with
/// (`cpu-compatibility`), and pre-copy predicted to converge at the link's rate (the slower of
/// the two links × its learned efficiency, under the policy's cap) under the policy's downtime
/// limit and convergence settings (`convergence`) → live. Otherwise `liveIneligible` decides:
/// `cold` (shut down, move, restart; the outage is predicted), `skip` or `fail` (a rejection
/// naming the check that failed). Predictions come from the ``CostModel``: learned figures where
/// history has them, else the file's.
public struct MigrationKindSelector: Sendable {
  public var policy: Policy
  public var model: CostModel

  public init(policy: Policy, model: CostModel = CostModel()) {
    self.policy = policy
    self.model = model
  }

  /// The verdict for moving `vm` from `source` to `destination`.
  ///
  /// - Parameters:
  ///   - disksToCopy: disks on datastores `destination` does not mount, and local disks.
  ///   - missingFeatures: CPU features `vm` needs that `destination` lacks.
  ///   - livePrediction: the live prediction, when the caller has it cached.
  public func decide(
    vm: VM, source: Host?, destination: Host, disksToCopy: [Disk], missingFeatures: [String],
    livePrediction: LivePrediction? = nil
  ) -> KindVerdict {
    guard vm.state.isRunning else {
      let cold = model.predictCold(vm: vm, disksToCopy: disksToCopy, from: source, to: destination, policy: policy)
      return .move(MoveDecision(kind: .cold, predicted: predicted(cold), requiresShutdown: false, whyNotLive: nil))
    }
    let obstacle: LiveObstacle
    if !disksToCopy.isEmpty {
      obstacle = .storage(disks: disksToCopy)
    } else if !missingFeatures.isEmpty {
      obstacle = .cpu(vmModel: vm.cpuModel, hostModel: destination.cpuModel, missing: missingFeatures)
    } else {
      let live = livePrediction ?? model.predictLive(vm: vm, from: source, to: destination, policy: policy)
      if live.converges {
        return .move(MoveDecision(kind: .live, predicted: predicted(live), requiresShutdown: false, whyNotLive: nil))
      }
      let rate = model.preCopyRate(model.link(from: source, to: destination), policy: policy)
      obstacle = .convergence(bandwidth: rate, reason: live.abortReason ?? "pre-copy does not converge")
    }
    switch policy.liveIneligible {
    case .cold:
      let cold = model.predictCold(vm: vm, disksToCopy: disksToCopy, from: source, to: destination, policy: policy)
      return .move(MoveDecision(kind: .cold, predicted: predicted(cold), requiresShutdown: true, whyNotLive: obstacle))
    case .skip, .fail:
      return .ineligible(
        Self.ineligibleRejection(obstacle, vm: vm.name, host: destination.name, action: policy.liveIneligible),
        refusesPlan: policy.liveIneligible == .fail)
    }
  }

  /// The rejection of a live-ineligible move under `liveIneligible: skip` or `fail`.
  static func ineligibleRejection(
    _ obstacle: LiveObstacle, vm: String, host: String, action: LiveIneligibleAction
  ) -> Rejection {
    var rejection = obstacle.rejection(vm: vm, host: host)
    rejection.reason +=
      action == .fail
      ? "; it cannot move live and the policy (liveIneligible: fail) refuses plans that need it moved"
      : "; it cannot move live and the policy (liveIneligible: skip) leaves it in place"
    return rejection
  }

  private func predicted(_ live: LivePrediction) -> PredictedCost {
    PredictedCost(
      seconds: live.totalSeconds, downtimeMs: live.downtimeSeconds * 1000, bytes: live.bytes, rounds: live.rounds,
      converges: live.converges, throttle: live.throttle)
  }

  private func predicted(_ cold: ColdPrediction) -> PredictedCost {
    PredictedCost(
      seconds: cold.totalSeconds, downtimeMs: cold.downtimeSeconds * 1000, bytes: cold.bytes, rounds: 0,
      converges: true)
  }
}

/// Live predictions already computed in one planning run, per VM and link rates.
///
/// Planners ask for one VM against many destinations in a row, so the current VM's few
/// predictions (one per distinct pair of rates) are kept apart from the dictionary of the others.
public struct PredictionCache: Sendable {
  /// What a live prediction depends on besides the VM: the rates and the fixed steps.
  public struct Key: Sendable, Hashable {
    public var rate: Double
    public var finalRate: Double
    public var pause: Double
    public var steps: Double

    public init(rate: Double, finalRate: Double, pause: Double, steps: Double) {
      self.rate = rate
      self.finalRate = finalRate
      self.pause = pause
      self.steps = steps
    }
  }
  private struct Entry: Sendable {
    var key: Key
    var prediction: LivePrediction
  }
  private var entries: [Int: [Entry]] = [:]
  private var currentVM = -1
  private var current: [Entry] = []

  public init() {}

  /// The prediction for VM `v` under `key`, if it was computed.
  public mutating func cached(vm v: Int, key: Key) -> LivePrediction? {
    select(v)
    for entry in current where entry.key == key { return entry.prediction }
    return nil
  }

  /// Remembers the prediction for VM `v` under `key`.
  public mutating func store(_ prediction: LivePrediction, vm v: Int, key: Key) {
    select(v)
    current.append(Entry(key: key, prediction: prediction))
  }

  private mutating func select(_ v: Int) {
    guard v != currentVM else { return }
    if currentVM >= 0 { entries[currentVM] = current }
    current = entries[v] ?? []
    currentVM = v
  }
}

extension MigrationKindSelector {
  /// The verdict for `move` in `state`, reusing predictions from `cache`.
  public func decide(_ move: MoveRequest, in state: PlacementState, cache: inout PredictionCache) -> KindVerdict {
    let v = move.vm
    let d = move.destination
    let s = state.hostOf[v]
    let running = state.vmRunning[v]
    let reachable = state.reachesAllStorage(v, from: d)
    let source = s >= 0 ? state.host(s) : nil
    var live: LivePrediction?
    if running, reachable, state.missingFeatures(v, on: d).isEmpty {
      let link = model.link(from: source, to: state.host(d))
      let rate = model.preCopyRate(link, policy: policy)
      let key = PredictionCache.Key(
        rate: rate.bytesPerSecond, finalRate: link.finalRate.value, pause: link.pauseSeconds.value,
        steps: link.liveSetupSeconds.value + link.liveFinishSeconds.value)
      // No closure over `state` here: capturing it would copy the whole state on every call.
      let prediction: LivePrediction
      if let known = cache.cached(vm: v, key: key) {
        prediction = known
      } else {
        prediction = model.predictLive(vm: state.vm(v), link: link, policy: policy)
        cache.store(prediction, vm: v, key: key)
      }
      // The common case, without copying the VM and host values.
      if prediction.converges {
        return .move(
          MoveDecision(kind: .live, predicted: predicted(prediction), requiresShutdown: false, whyNotLive: nil))
      }
      live = prediction
    }
    return decide(
      vm: state.vm(v), source: source, destination: state.host(d),
      disksToCopy: reachable ? [] : state.disksToCopy(v, to: d),
      missingFeatures: running ? state.missingFeatures(v, on: d) : [], livePrediction: live)
  }
}
