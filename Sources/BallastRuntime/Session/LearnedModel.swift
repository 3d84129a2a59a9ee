import BallastEngine
import BallastModel

/// The cost model a plan is made with: the cluster's hypervisors' kind, and what its history
/// taught unless the policy turns learning off (`model.learn: false`).
public enum LearnedModel {
  /// The model for planning on `cluster` under `policy`, with the estimates `journal` keeps.
  /// A journal that cannot be read gives the file's figures only (planning goes on).
  public static func model(
    for cluster: Cluster, policy: Policy, journal: (any MigrationJournal)?
  ) async -> CostModel {
    guard policy.model.learn, let journal else { return CostModel(for: cluster) }
    let learned = (try? await journal.learnedEstimates(cluster: cluster.name)) ?? .empty
    return CostModel(for: cluster, learned: learned)
  }
}

extension ClusterSession {
  /// The cost model for planning on `cluster` (the inventory now), with what this session's
  /// history taught unless the policy turns learning off.
  public func costModel(for cluster: Cluster) async -> CostModel {
    await LearnedModel.model(for: cluster, policy: policy, journal: store)
  }
}
