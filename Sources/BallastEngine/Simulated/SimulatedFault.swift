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

/// How long the simulated hypervisors take for the steps that are not link transfers.
public struct SimulationTimings: Sendable, Hashable, Codable {
  /// Starting an empty incoming container (QEMU `-incoming`) or holding capacity.
  public var reserveSeconds: Double = 0.2
  /// Removing a container or a reservation.
  public var releaseSeconds: Double = 0.05
  /// The destination confirming a consistent copy.
  public var commitSeconds: Double = 0.01
  /// Resuming on the destination and announcing the VM on the network.
  public var activateSeconds: Double = 0.05
  /// Resuming a paused source after a rollback.
  public var resumeSeconds: Double = 0.01
  /// Defining a VM on a host.
  public var registerSeconds: Double = 0.5
  /// Removing a definition and its files.
  public var removeSeconds: Double = 0.1
  /// A clean guest shutdown.
  public var shutdownSeconds: Double = ColdMigrationModel().shutdownSeconds
  /// A guest boot.
  public var bootSeconds: Double = ColdMigrationModel().bootSeconds
  /// Size of a VM's configuration and logs, copied by a cold move.
  public var configurationBytes: Double = ColdMigrationModel().configurationBytes.double
  /// A transfer that makes no progress for this long (no bandwidth) fails.
  public var stallTimeoutSeconds: Double = 60
  /// A hypervisor answering where a VM is (``SimulatedDriver/locate(vm:)``, part of stage 0).
  public var querySeconds: Double = 0

  public init() {}

  /// Timings where only link transfers take time: simulated migrations then take exactly
  /// what the cost model predicts.
  public static var transfersOnly: SimulationTimings {
    var timings = SimulationTimings()
    timings.reserveSeconds = 0
    timings.releaseSeconds = 0
    timings.commitSeconds = 0
    timings.activateSeconds = 0
    timings.resumeSeconds = 0
    timings.registerSeconds = 0
    timings.removeSeconds = 0
    return timings
  }
}
