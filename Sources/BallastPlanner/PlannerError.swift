import BallastModel

/// Why a planner could not even start: the request names something the cluster does not have.
///
/// A plan that is *not possible* (a drain that does not fit) is not an error: it is a
/// ``MigrationPlan`` with a `refusal` and its rejections.
public enum PlannerError: Error, Sendable, Hashable, CustomStringConvertible {
  /// No host has this name; `suggestion` is the closest known name, if any.
  case unknownHost(String, cluster: String, suggestion: String?)
  /// No VM has this name; `suggestion` is the closest known name, if any.
  case unknownVM(String, cluster: String, suggestion: String?)
  /// The planner contradicted itself: the moves its search chose did not pass again when
  /// replayed from the snapshot. A bug, reported as a failure rather than an empty plan.
  case inconsistentPlan(String)

  public var description: String {
    switch self {
    case .unknownHost(let name, let cluster, let suggestion):
      return "no host named \(name) in cluster \(cluster)"
        + (suggestion.map { "; did you mean \($0)?" } ?? "; run `ballast status` to list the hosts")
    case .unknownVM(let name, let cluster, let suggestion):
      return "no VM named \(name) in cluster \(cluster)"
        + (suggestion.map { "; did you mean \($0)?" } ?? "; check the VM names in the cluster file")
    case .inconsistentPlan(let detail):
      return "the balance planner failed: the moves it chose do not replay from the snapshot (\(detail)); "
        + "nothing was moved — please report this with the cluster and policy files"
    }
  }

  /// The name in `candidates` closest to `name` (edit distance at most a third of its length).
  public static func closest(to name: String, in candidates: [String]) -> String? {
    let target = name.lowercased()
    var best: (String, Int)?
    for candidate in candidates {
      let d = Suggestion.editDistance(target, candidate.lowercased())
      if d <= max(1, target.count / 3), best.map({ d < $0.1 || (d == $0.1 && candidate < $0.0) }) ?? true {
        best = (candidate, d)
      }
    }
    return best?.0
  }
}
