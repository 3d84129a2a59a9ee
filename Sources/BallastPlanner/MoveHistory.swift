import BallastModel

/// What the planner needs to know about past and ongoing migrations: it does not read history
/// or clocks itself, so the caller passes them in.
///
/// `now` and `lastMove[...].at` share one time base (seconds, e.g. since the Unix epoch or since
/// the start of a simulation); only their difference is used.
public struct MoveHistory: Sendable, Hashable, Codable {
  /// The last completed move of a VM: when, and which host it left.
  public struct LastMove: Sendable, Hashable, Codable {
    /// When the move ended.
    public var at: Double
    /// The host the VM left.
    public var from: String

    public init(at: Double, from: String) {
      self.at = at
      self.from = from
    }
  }

  /// Last move per VM name.
  public var lastMove: [String: LastMove]
  /// The present, in the time base of `lastMove`.
  public var now: Double
  /// Migrations in progress per host name (as source or destination), as the engine reports them.
  public var inFlight: [String: Int]

  public init(lastMove: [String: LastMove] = [:], now: Double = 0, inFlight: [String: Int] = [:]) {
    self.lastMove = lastMove
    self.now = now
    self.inFlight = inFlight
  }

  /// No past moves, nothing in flight.
  public static let none = MoveHistory()

  /// Seconds `vm` must still stay put under `cooldown`, or `nil` when it may move.
  public func cooldownRemaining(vm: String, cooldown: Double) -> Double? {
    guard let last = lastMove[vm] else { return nil }
    let elapsed = now - last.at
    return elapsed < cooldown ? cooldown - max(0, elapsed) : nil
  }
}

extension MoveHistory {
  /// Seconds each VM of `state` must still stay put under the policy's cooldown, by position
  /// (`nil`: it may move).
  func cooldowns(in state: PlacementState) -> [Double?] {
    var cooling = [Double?](repeating: nil, count: state.cluster.vms.count)
    for name in lastMove.keys {
      if let v = state.vmPosition(name) {
        cooling[v] = cooldownRemaining(vm: name, cooldown: state.policy.cooldown.seconds)
      }
    }
    return cooling
  }
}
