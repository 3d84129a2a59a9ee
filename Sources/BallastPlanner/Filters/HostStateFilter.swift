/// A destination must be active and not the VM's own host; a host in maintenance takes no VMs.
public struct HostStateFilter: PlacementFilter {
  public let name = "host-state"

  public init() {}

  public func admits(_ move: MoveRequest, in state: PlacementState) -> Bool {
    state.isActive(move.destination) && state.hostOf[move.vm] != move.destination
  }

  public func reason(_ move: MoveRequest, in state: PlacementState) -> String {
    let host = state.host(move.destination).name
    if state.hostOf[move.vm] == move.destination { return "\(state.vm(move.vm).name) already runs on \(host)" }
    return "\(host) is in maintenance and takes no VMs"
  }
}
