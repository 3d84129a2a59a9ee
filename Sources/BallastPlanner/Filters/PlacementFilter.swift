import BallastModel

/// A proposed move: VM `vm` from the host it is on now to `destination` (positions in the cluster).
public struct MoveRequest: Sendable, Hashable {
  public var vm: Int
  public var destination: Int

  public init(vm: Int, destination: Int) {
    self.vm = vm
    self.destination = destination
  }
}

/// A hard constraint on where a VM may go: it passes a move or rejects it with a reason.
///
/// `admits` is the fast check planners run on many trial moves; `reason` builds the operator's
/// sentence and is only asked for moves `admits` refused.
public protocol PlacementFilter: Sendable {
  /// The check this filter runs, shown with each rejection (by its name, e.g. `capacity`).
  var check: MoveCheck { get }
  /// Whether the move passes.
  func admits(_ move: MoveRequest, in state: PlacementState) -> Bool
  /// Why the move does not pass, in an operator's words (only called when `admits` is false).
  func reason(_ move: MoveRequest, in state: PlacementState) -> String
  /// The position in `policy.rules` of the rule that refuses the move, for the filters that
  /// enforce rules (VM–host, affinity, anti-affinity); `nil` when none does, or for other filters.
  func brokenRule(_ move: MoveRequest, in state: PlacementState) -> Int?
}

extension PlacementFilter {
  /// Filters that enforce no rule name none.
  public func brokenRule(_ move: MoveRequest, in state: PlacementState) -> Int? { nil }

  /// The name of the filter's check, e.g. `capacity`.
  public var name: String { check.name }

  /// `nil` when the move passes, else the rejection naming this filter.
  public func rejection(_ move: MoveRequest, in state: PlacementState) -> Rejection? {
    guard !admits(move, in: state) else { return nil }
    return Rejection(
      vm: state.vm(move.vm).name, host: state.host(move.destination).name, check: check,
      reason: reason(move, in: state))
  }
}

/// The standard filters, cheapest first. The storage, CPU and convergence checks for live moves
/// belong to ``MigrationKindSelector``, because the policy may allow a cold move instead.
public enum StandardFilters {
  public static let all: [any PlacementFilter] = [
    HostStateFilter(), VMHostRuleFilter(), ConcurrencyFilter(), CapacityFilter(), AntiAffinityFilter(),
    AffinityFilter(),
  ]
}
