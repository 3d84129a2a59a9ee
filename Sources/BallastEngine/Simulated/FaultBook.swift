import BallastModel

/// Faults still to fire and timed changes still to apply, for ``SimulatedDriver``.
struct FaultBook {
  struct StageKey: Hashable {
    var vm: String
    var stage: MigrationStage
  }

  struct RefusalKey: Hashable {
    var vm: String
    var host: String
  }

  enum Change {
    case bandwidth(host: String, Bandwidth)
    case kill(host: String)
    case usage(vm: String, Usage)
  }

  struct TimedChange {
    var at: Double
    var sequence: Int
    var change: Change
  }

  /// (VM, stage) → failures still to inject, and their kind.
  private var stageFaults: [StageKey: (left: Int, kind: DriverError.Kind)] = [:]
  private var checksumFaults: [String: Int] = [:]
  /// (VM, destination) → the driver check that refuses the move, and why.
  private var refusals: [RefusalKey: (check: MoveCheck, reason: String)] = [:]
  /// Timed changes, latest first (the next one is `last`).
  private var timed: [TimedChange] = []
  private var sequence = 0

  init(_ faults: [SimulatedFault] = []) {
    for fault in faults { add(fault) }
  }

  mutating func add(_ fault: SimulatedFault) {
    switch fault {
    case .failStage(let vm, let stage, let times, let kind):
      let key = StageKey(vm: vm, stage: stage)
      stageFaults[key] = ((stageFaults[key]?.left ?? 0) + max(times, 0), kind)
    case .checksumMismatch(let vm, let times):
      checksumFaults[vm, default: 0] += max(times, 0)
    case .bandwidth(let host, let bandwidth, let at):
      schedule(.bandwidth(host: host, bandwidth), at: at)
    case .killHost(let host, let at):
      schedule(.kill(host: host), at: at)
    case .refuseMove(let vm, let host, let check, let reason):
      refusals[RefusalKey(vm: vm, host: host)] = (check, reason)
    }
  }

  /// Adds a change at elapsed time `at`; changes due at the same time apply in the order added.
  mutating func schedule(_ change: Change, at: Double) {
    sequence += 1
    let item = TimedChange(at: at, sequence: sequence, change: change)
    var low = 0
    var high = timed.count
    while low < high {
      let mid = (low + high) / 2
      let other = timed[mid]
      if other.at > at || (other.at == at && other.sequence > item.sequence) { low = mid + 1 } else { high = mid }
    }
    timed.insert(item, at: low)
  }

  /// The kind of failure `stage` of `vm` must fail with now, if it must (and counts the failure).
  mutating func takeStageFault(_ vm: String, _ stage: MigrationStage) -> DriverError.Kind? {
    let key = StageKey(vm: vm, stage: stage)
    guard let fault = stageFaults[key], fault.left > 0 else { return nil }
    stageFaults[key] = (fault.left - 1, fault.kind)
    return fault.kind
  }

  /// The driver check refusing to move `vm` to `host`, if one does.
  func refusal(vm: String, to host: String) -> (check: MoveCheck, reason: String)? {
    refusals[RefusalKey(vm: vm, host: host)]
  }

  /// Whether the next destination copy of `vm` must be corrupt (and counts it).
  mutating func takeChecksumFault(_ vm: String) -> Bool {
    guard let left = checksumFaults[vm], left > 0 else { return false }
    checksumFaults[vm] = left - 1
    return true
  }

  /// When the next timed change is due.
  var nextChangeAt: Double { timed.last?.at ?? .infinity }

  /// Removes and returns the changes due at `now`, in order.
  mutating func takeDue(now: Double) -> [Change] {
    var due: [Change] = []
    while let next = timed.last, next.at <= now {
      timed.removeLast()
      due.append(next.change)
    }
    return due
  }
}
