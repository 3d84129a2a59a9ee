import BallastModel

/// A destination already taking part in `concurrency.perHost` migrations (in flight now, as the
/// engine reports them in ``MoveHistory/inFlight``) takes no new one. Moves within one plan are
/// kept inside the limits by ``PredictedTimeline`` instead.
public struct ConcurrencyFilter: PlacementFilter {
  public let check = MoveCheck.concurrency

  public init() {}

  public func admits(_ move: MoveRequest, in state: PlacementState) -> Bool {
    state.inFlight[move.destination] < max(1, state.policy.concurrency.perHost)
  }

  public func reason(_ move: MoveRequest, in state: PlacementState) -> String {
    let busy = state.inFlight[move.destination]
    return "\(state.host(move.destination).name) already takes part in \(busy) migration\(busy == 1 ? "" : "s"), "
      + "the per-host limit is \(state.policy.concurrency.perHost)"
  }
}
