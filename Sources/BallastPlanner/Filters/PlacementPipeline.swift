import BallastModel

/// The outcome of the placement checks for one move.
public enum PlacementCheck: Sendable {
  /// Every filter passes and the VM can move, live or cold.
  case pass(MoveDecision)
  /// Filter number `index` of the pipeline refused it.
  case filtered(index: Int)
  /// A running VM that cannot move live here (`check` is one of
  /// ``MoveCheck/liveEligibility``), under `liveIneligible: skip` or `fail`.
  case notLive(check: MoveCheck, refusesPlan: Bool)
}

/// The filters then the kind selection, for one VM and one destination.
public struct PlacementPipeline: Sendable {
  public var filters: [any PlacementFilter]
  public var selector: MigrationKindSelector

  public init(policy: Policy, filters: [any PlacementFilter] = StandardFilters.all, model: CostModel = CostModel()) {
    self.filters = filters
    self.selector = MigrationKindSelector(policy: policy, model: model)
  }

  /// Runs the checks, cheapest first, stopping at the first that fails; builds no sentences.
  public func check(_ move: MoveRequest, in state: PlacementState, cache: inout PredictionCache) -> PlacementCheck {
    for i in filters.indices where !filters[i].admits(move, in: state) { return .filtered(index: i) }
    let policy = selector.policy
    if policy.liveIneligible != .cold, state.vmRunning[move.vm] {
      if !state.reachesAllStorage(move.vm, from: move.destination) {
        return .notLive(check: .storage, refusesPlan: policy.liveIneligible == .fail)
      }
      if !state.missingFeatures(move.vm, on: move.destination).isEmpty {
        return .notLive(check: .cpuCompatibility, refusesPlan: policy.liveIneligible == .fail)
      }
    }
    switch selector.decide(move, in: state, cache: &cache) {
    case .move(let decision): return .pass(decision)
    case .ineligible(let rejection, let refuses): return .notLive(check: rejection.check, refusesPlan: refuses)
    }
  }

  /// The first rejection of `move`, with its sentence; `nil` when it passes.
  public func rejection(_ move: MoveRequest, in state: PlacementState, cache: inout PredictionCache) -> Rejection? {
    for filter in filters {
      if let rejection = filter.rejection(move, in: state) { return rejection }
    }
    if case .ineligible(let rejection, _) = selector.decide(move, in: state, cache: &cache) { return rejection }
    return nil
  }

  /// Every rejection of `move` (all filters, then the kind selection) and its decision when
  /// it has none: what `--explain` shows.
  public func allVerdicts(
    _ move: MoveRequest, in state: PlacementState, cache: inout PredictionCache
  ) -> (rejections: [Rejection], decision: MoveDecision?) {
    var rejections = filters.compactMap { $0.rejection(move, in: state) }
    switch selector.decide(move, in: state, cache: &cache) {
    case .move(let decision):
      return (rejections, rejections.isEmpty ? decision : nil)
    case .ineligible(let rejection, _):
      rejections.append(rejection)
      return (rejections, nil)
    }
  }

  /// The check behind a failed ``check(_:in:cache:)`` (`nil` when it passed).
  public func failedCheck(_ check: PlacementCheck) -> MoveCheck? {
    switch check {
    case .pass: nil
    case .filtered(let index): filters[index].check
    case .notLive(let check, _): check
    }
  }

  /// Every check a move can fail, in the order the pipeline runs them: its filters, then the
  /// live-eligibility checks.
  public var checks: [MoveCheck] { filters.map(\.check) + MoveCheck.liveEligibility }
}
