import BallastModel

/// A destination must be active and not the VM's own host; a host in maintenance takes no VMs
/// (``HostStateCheck``, which the engine's stage 0 runs too).
public struct HostStateFilter: PlacementFilter {
  public let check = MoveCheck.hostState

  public init() {}

  public func admits(_ move: MoveRequest, in state: PlacementState) -> Bool {
    refusal(move, in: state) == nil
  }

  public func reason(_ move: MoveRequest, in state: PlacementState) -> String {
    guard let refusal = refusal(move, in: state) else { return "passes" }
    return HostStateCheck.sentence(refusal, vm: state.vm(move.vm).name, host: state.host(move.destination).name)
  }

  private func refusal(_ move: MoveRequest, in state: PlacementState) -> HostStateCheck.Refusal? {
    HostStateCheck.refusal(
      destinationActive: state.isActive(move.destination), isVMsHost: state.hostOf[move.vm] == move.destination)
  }
}
