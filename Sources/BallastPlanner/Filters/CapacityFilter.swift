import BallastModel

/// Allocation limits on the destination under the policy's overcommit: vCPUs of running VMs
/// ≤ cores × `overcommit.cpu`, allocated memory of running VMs ≤ memory × `overcommit.memory`.
///
/// A stopped or suspended VM takes no capacity while it is off, but it must be able to start
/// there one day: its own size must fit the host's limits.
public struct CapacityFilter: PlacementFilter {
  public let name = "capacity"

  public init() {}

  public func admits(_ move: MoveRequest, in state: PlacementState) -> Bool {
    let v = move.vm
    let d = move.destination
    let overcommit = state.policy.overcommit
    let vcpuLimit = state.hostCores[d] * overcommit.cpu
    let memoryLimit = state.hostMemory[d] * overcommit.memory
    let vcpus = Double(state.vmVCPUs[v])
    guard state.vmRunning[v] else {
      return vcpus <= vcpuLimit + 1e-9 && state.vmMemory[v] <= memoryLimit * (1 + 1e-9)
    }
    let load = state.loads[d]
    return state.vmMemory[v] <= memoryLimit - load.memoryDemand + max(1, memoryLimit * 1e-9)
      && vcpus <= vcpuLimit - Double(load.vcpus) + 1e-9
  }

  public func reason(_ move: MoveRequest, in state: PlacementState) -> String {
    shortfall(move, in: state) ?? "passes"
  }

  private func shortfall(_ move: MoveRequest, in state: PlacementState) -> String? {
    let v = move.vm
    let d = move.destination
    let host = state.host(d)
    let vm = state.vm(v)
    let overcommit = state.policy.overcommit
    let vcpuLimit = Double(host.cores) * overcommit.cpu
    let memoryLimit = host.memory.double * overcommit.memory
    let slack = 1e-9
    guard state.vmRunning[v] else {
      if Double(vm.vcpus) > vcpuLimit + slack {
        return "needs \(vm.vcpus) vCPUs to start, \(host.name) allows at most \(Wording.number(vcpuLimit)) "
          + "(\(host.cores) cores under a \(Wording.factor(overcommit.cpu))× CPU overcommit)"
      }
      if vm.memory.double > memoryLimit * (1 + slack) {
        return "needs \(vm.memory) to start, \(host.name) allows at most \(Wording.bytes(memoryLimit)) "
          + "(\(host.memory) under a \(Wording.factor(overcommit.memory))× memory overcommit)"
      }
      return nil
    }
    let load = state.loads[d]
    let freeMemory = memoryLimit - load.memoryDemand
    if vm.memory.double > freeMemory + max(1, memoryLimit * slack) {
      return "needs \(vm.memory), \(host.name) has \(Wording.bytes(freeMemory)) free under a "
        + "\(Wording.factor(overcommit.memory))× memory overcommit"
    }
    let freeVCPUs = vcpuLimit - Double(load.vcpus)
    if Double(vm.vcpus) > freeVCPUs + slack {
      return "needs \(vm.vcpus) vCPUs, \(host.name) has \(Wording.number(max(0, freeVCPUs))) free of "
        + "\(Wording.number(vcpuLimit)) (\(host.cores) cores under a \(Wording.factor(overcommit.cpu))× CPU overcommit)"
    }
    return nil
  }
}
