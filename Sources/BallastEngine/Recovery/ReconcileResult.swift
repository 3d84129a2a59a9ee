import BallastModel

/// What `reconcile` did with one move that a previous process left unfinished.
public struct ReconcileResult: Sendable, Hashable, Codable {
  /// How it ended.
  public enum Resolution: Sendable, Hashable, Codable {
    /// Recorded as ended with this outcome (`completed`, `rolledBack` or `needsAttention`).
    case finished(MoveOutcome)
    /// Nothing could be decided or done (the driver failed); the move stays unfinished and the
    /// next `reconcile` tries again. Nothing should move this VM meanwhile.
    case unresolved
  }

  public var move: MoveID
  public var vm: String
  public var from: String
  public var to: String
  public var kind: MigrationKind
  public var resolution: Resolution
  /// What was found and what was done, in an operator's words (the journal's `detail`).
  public var detail: String

  public init(
    move: MoveID, vm: String, from: String, to: String, kind: MigrationKind, resolution: Resolution, detail: String
  ) {
    self.move = move
    self.vm = vm
    self.from = from
    self.to = to
    self.kind = kind
    self.resolution = resolution
    self.detail = detail
  }
}
