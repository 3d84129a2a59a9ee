import BallastModel

/// Several processes taking turns on one simulated cluster (a `--state` file).
///
/// The cluster lease lets one process at a time run migrations; the others keep a driver open
/// (the balancing loop between rounds). Before it answers where VMs are, a driver picks up the
/// state another process saved meanwhile — new placements, hosts put in maintenance — and moves
/// its clock forward to that process's, so the history's times never run backwards.
extension SimulatedDriver {
  /// Adopts the state another process saved in the store since this driver last read or wrote
  /// it. Nothing changes while this driver has transfers in flight (the lease should make that
  /// impossible), when the store cannot be read, or when what it holds is not this cluster's
  /// state (see ``SimulatedState/problems(against:)``): the next save replaces it.
  public func adoptStoredChanges() {
    guard let store, activeTransfers.isEmpty, let stored = try? store.loadIfChanged(),
      stored.problems(against: state.cluster).isEmpty
    else { return }
    state = stored
    (vmPosition, hostPosition) = Self.positions(stored.cluster)
    residents = Self.residents(stored)
    abortedTransfers = []
    if let time = stored.clockTime { clock.catchUp(to: time - clock.origin) }
  }
}
