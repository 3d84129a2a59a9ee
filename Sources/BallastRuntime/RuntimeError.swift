/// A request the runtime cannot carry out, with what happened and what to do about it.
///
/// Front ends show ``description`` as it is (the CLI prints `Error: <description>` and exits 1);
/// ``kind`` lets one that needs it tell a bad request from a conflict (an HTTP endpoint, say).
/// A move that is *not possible* for a reason the planner or the engine knows (a CPU the host
/// lacks, a refused drain) is not an error: it comes back in the plan or the run's summary.
public struct RuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What kind of problem it is.
  public enum Kind: Sendable, Hashable {
    /// The request names a VM or host the cluster does not have.
    case unknownName
    /// The request cannot be done as asked (a VM already on that host, `--live` for a stopped VM).
    case notPossible
    /// A setting is wrong: an environment variable, an option that does not apply to this
    /// kind of cluster, a missing state file.
    case badSetting
    /// Migrations an earlier process left in flight could not be settled, so nothing moves.
    case unsettled
  }

  /// What kind of problem it is.
  public var kind: Kind
  /// What happened and what to do, as one message for a person.
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}
