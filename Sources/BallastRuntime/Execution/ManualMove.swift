import BallastModel
import BallastPlanner

/// The one-move plan of `ballast migrate VM --to HOST`.
public enum ManualMove {
  /// How the operator asked the VM to move.
  public enum Requested: String, Sendable {
    case auto
    case live
    case cold
  }

  /// The plan moving `vmName` to `hostName`: live or cold as docs/ARCHITECTURE.md's kind table (and the
  /// planner's kind selection) says, unless `requested` forces one.
  /// - Throws: ``RuntimeError`` when a name is unknown or the move cannot be done as requested.
  public static func plan(
    vm vmName: String, to hostName: String, requested: Requested, cluster: Cluster, policy: Policy,
    model: CostModel = CostModel()
  ) throws -> MigrationPlan {
    guard let vm = cluster.vm(named: vmName) else {
      throw RuntimeError(.unknownName, "no VM named \(vmName) in cluster \(cluster.name); `ballast status` lists them")
    }
    guard let destination = cluster.host(named: hostName) else {
      let names = cluster.hosts.map(\.name).joined(separator: ", ")
      throw RuntimeError(.unknownName, "no host named \(hostName) in cluster \(cluster.name) (hosts: \(names))")
    }
    guard let source = cluster.host(named: vm.host) else {
      throw RuntimeError(.unknownName, "VM \(vmName) is on \(vm.host), which is not a host of cluster \(cluster.name)")
    }
    if source.name == destination.name { throw RuntimeError(.notPossible, "VM \(vmName) is already on \(hostName)") }

    let shared = Dictionary(cluster.datastores.map { ($0.name, $0.shared) }, uniquingKeysWith: { a, _ in a })
    let disksToCopy = vm.disks.filter { !(shared[$0.datastore] ?? false) || !destination.mounts($0.datastore) }
    let missing = CPUCheck.missingFeatures(vm, on: destination)

    var selectorPolicy = policy
    if requested != .auto { selectorPolicy.liveIneligible = .cold }  // to learn why not live, if not
    let selector = MigrationKindSelector(policy: selectorPolicy, model: model)
    let verdict = selector.decide(
      vm: vm, source: source, destination: destination, disksToCopy: disksToCopy, missingFeatures: missing)
    var decision: MoveDecision
    switch verdict {
    case .move(let chosen):
      decision = chosen
    case .ineligible(let rejection, _):
      throw RuntimeError(.notPossible, "not possible: \(rejection.reason); add --cold to shut it down and move it cold")
    }
    if requested == .live {
      guard vm.state.isRunning else {
        throw RuntimeError(
          .notPossible, "VM \(vmName) is \(vm.state.rawValue): only a running VM moves live; drop --live")
      }
      if let obstacle = decision.whyNotLive {
        throw RuntimeError(
          .notPossible,
          "VM \(vmName) cannot move live to \(hostName): \(obstacle.sentence(vm: vmName, host: hostName)); "
            + "drop --live to move it cold")
      }
    }
    if requested == .cold, decision.kind == .live {
      let cold = model.predictCold(vm: vm, disksToCopy: disksToCopy, from: source, to: destination, policy: policy)
      decision = MoveDecision(
        kind: .cold,
        predicted: PredictedCost(
          seconds: cold.totalSeconds, downtimeMs: cold.downtimeSeconds * 1000, bytes: cold.bytes, rounds: 0,
          converges: true),
        requiresShutdown: vm.state.isRunning, whyNotLive: nil)
    }
    var reason = "requested: ballast migrate \(vmName) --to \(hostName)"
    if let obstacle = decision.whyNotLive {
      reason += "; cold because \(obstacle.sentence(vm: vmName, host: hostName))"
    }
    let move = PlannedMove(
      vm: vmName, from: source.name, to: destination.name, kind: decision.kind, reason: reason,
      predicted: decision.predicted, requiresShutdown: decision.requiresShutdown,
      disksToCopy: decision.kind == .cold ? disksToCopy : [])
    var after = cluster
    if let i = after.vms.firstIndex(where: { $0.name == vmName }) { after.vms[i].host = destination.name }
    return MigrationPlan(
      trigger: .manual, cluster: cluster.name, policy: policy.name, moves: [move], rejected: [],
      before: ClusterView(cluster, weights: policy.weights), after: ClusterView(after, weights: policy.weights),
      predictedMakespanSeconds: decision.predicted.seconds)
  }
}
