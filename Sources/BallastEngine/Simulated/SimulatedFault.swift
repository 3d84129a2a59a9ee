import BallastModel

/// A fault the simulated driver injects, so tests can prove every failure path.
public enum SimulatedFault: Sendable, Hashable, Codable {
  /// The driver operation behind `stage` of `vm`'s migration fails `times` times.
  ///
  /// Stage 0 (`preMigration`, `verifyOff`): locating the VM (and the shutdown) fails.
  /// `reservation`: reserving. `preCopy`: the stream breaks after round 0.
  /// `stopAndCopy`: the stream breaks after the source was paused. `copy`: copying.
  /// `register`: registering. `commitment`: committing (live) or removing the source (cold).
  /// `activation`, `start`: resuming or starting the VM on the destination.
  /// The failures are of `kind` (transient by default: the engine retries those).
  case failStage(vm: String, stage: MigrationStage, times: Int = 1, kind: DriverError.Kind = .transient)
  /// `host`'s migration link drops to `bandwidth` at elapsed virtual time `at`.
  case bandwidth(host: String, to: Bandwidth, at: Double)
  /// `host` loses power at elapsed virtual time `at`: running and paused VMs on it stop, empty
  /// containers vanish, and every operation on it fails from then on.
  case killHost(host: String, at: Double)
  /// The destination copy of `vm` does not match its source (`times` times): a cold copy, or
  /// the state a live transfer left on the destination, fails verification.
  case checksumMismatch(vm: String, times: Int = 1)
  /// The driver's own stage-0 check named `check` finds moving `vm` to `host` not possible, with
  /// `reason` (as libvirt's CPU comparison would, where the shared checks see nothing wrong).
  case refuseMove(vm: String, host: String, check: MoveCheck, reason: String)
}
