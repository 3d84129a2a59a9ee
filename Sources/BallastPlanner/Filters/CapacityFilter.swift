import BallastModel

/// Allocation limits on the destination under the policy's overcommit (``CapacityCheck``, which
/// the engine's stage 0 runs too): vCPUs of running VMs ≤ cores × `overcommit.cpu`, allocated
/// memory of running VMs ≤ memory × `overcommit.memory`.
///
/// A stopped or suspended VM takes no capacity while it is off, but it must be able to start
/// there one day: its own size must fit the host's limits.
public struct CapacityFilter: PlacementFilter {
  public let check = MoveCheck.capacity

  public init() {}

  public func admits(_ move: MoveRequest, in state: PlacementState) -> Bool {
    shortfall(move, in: state) == nil
  }

  public func reason(_ move: MoveRequest, in state: PlacementState) -> String {
    guard let shortfall = shortfall(move, in: state) else { return "passes" }
    return CapacityCheck.sentence(
      shortfall, vm: state.vm(move.vm), host: state.host(move.destination), overcommit: state.policy.overcommit)
  }

  private func shortfall(_ move: MoveRequest, in state: PlacementState) -> CapacityCheck.Shortfall? {
    let v = move.vm
    let d = move.destination
    let load = state.loads[d]
    return CapacityCheck.shortfall(
      memory: state.vmMemory[v], vcpus: state.vmVCPUs[v], running: state.vmRunning[v], hostMemory: state.hostMemory[d],
      hostCores: state.hostCores[d], allocatedMemory: load.memoryDemand, allocatedVCPUs: load.vcpus,
      overcommit: state.policy.overcommit)
  }
}
