import BallastEngine
import BallastModel

/// The driver's public face: every method throws ``DriverError`` only, as ``Driver`` promises.
/// Each one runs its steps (the `…Steps` methods beside it) and turns whatever else they throw
/// — QMP failures, file-system errors, cancellation — into a ``DriverError`` naming the VM, the
/// host and what was being done, with a ``DriverError/Kind`` saying whether trying again can
/// help (a QMP timeout may; a QEMU process gone cannot).
extension QEMUDriver {
  /// Runs `body`, turning anything it throws into a ``DriverError`` about `what`.
  private func asDriverError<T>(
    _ what: String, vm: String?, host: String?, _ body: () async throws -> T
  ) async throws(DriverError) -> T {
    do {
      return try await body()
    } catch {
      throw Self.wrap(error, vm: vm, host: host, doing: what)
    }
  }

  // MARK: Inventory

  /// The lab as its processes show it now: hosts (in maintenance when flagged), VMs defined
  /// on each with their power state from QEMU and their load from `/proc`.
  public func inventory() async throws -> Cluster {
    do {
      return try await inventorySteps()
    } catch {
      throw Self.wrap(error, vm: nil, host: nil, doing: "reading the lab's inventory")
    }
  }

  /// Every lab host holding a definition of `vm`, with QEMU's state of it there.
  public func locate(vm: String) async throws -> [VMPlacement] {
    try await asDriverError("locating the VM", vm: vm, host: nil) { try await locateSteps(vm: vm) }
  }

  /// Everything that stops `vm` from migrating live to `destination` now, checked on the lab's
  /// real state (its definitions, processes and mounts); empty when it can.
  public func liveMigrationProblems(vm: String, to destination: String) async throws -> [NotPossible] {
    try await asDriverError("checking a live migration", vm: vm, host: destination) {
      try await liveMigrationProblemsSteps(vm: vm, to: destination)
    }
  }

  /// Measures how fast `vm` dirties memory now, over `seconds` (QMP `calc-dirty-rate`); the
  /// figure is kept and reported by ``inventory()`` as the VM's dirty rate, for the cost model.
  public func measureDirtyRate(vm: String, seconds: Int = 1) async throws -> DirtyRateMeasurement {
    try await asDriverError("measuring the dirty rate", vm: vm, host: nil) {
      try await measureDirtyRateSteps(vm: vm, seconds: seconds)
    }
  }

  /// Puts `host` in maintenance (a `maintenance` file in its lab directory, seen by every
  /// process using the lab) or takes it out.
  public func setMaintenance(_ on: Bool, host: String) async throws {
    do {
      try await setMaintenanceSteps(on, host: host)
    } catch {
      throw Self.wrap(error, vm: nil, host: host, doing: on ? "putting the host in maintenance" : "ending maintenance")
    }
  }

  // MARK: Live

  /// Stage 1: starts the destination QEMU paused with `-incoming defer` and has it listen.
  public func reserve(_ request: MigrationRequest) async throws -> Reservation {
    try await asDriverError("reserving the destination", vm: request.vm, host: request.to) {
      try await reserveSteps(request)
    }
  }

  /// Removes the destination container (also for the reconciler's empty token); a source
  /// still migrating into it has its migration cancelled and keeps running.
  public func release(_ reservation: Reservation) async throws {
    let request = reservation.request
    try await asDriverError("releasing the destination", vm: request.vm, host: request.to) {
      try await releaseSteps(reservation)
    }
  }

  /// Stages 2–3: QEMU's pre-copy, reported round by round, up to its switchover (both sides
  /// paused, the destination holding the complete state).
  public func transfer(
    _ reservation: Reservation, settings: LiveSettings, onEvent: @Sendable (TransferEvent) async -> Void
  ) async throws -> TransferResult {
    let request = reservation.request
    return try await asDriverError("the live transfer", vm: request.vm, host: request.from) {
      try await transferSteps(reservation, settings: settings, onEvent: onEvent)
    }
  }

  /// Rolls a live move back before commitment: the VM runs on its source again.
  public func resumeOnSource(_ reservation: Reservation) async throws {
    let request = reservation.request
    try await asDriverError("resuming the VM on its source", vm: request.vm, host: request.from) {
      try await resumeOnSourceSteps(reservation)
    }
  }

  /// Stage 4: checks both sides hold the completed migration and makes the destination the
  /// VM's home.
  public func commit(_ reservation: Reservation) async throws {
    let request = reservation.request
    try await asDriverError("commitment", vm: request.vm, host: request.to) { try await commitSteps(reservation) }
  }

  /// Stage 5: continues the destination, announces it on the network and quits the source.
  public func activate(_ reservation: Reservation) async throws {
    let request = reservation.request
    try await asDriverError("activation", vm: request.vm, host: request.to) { try await activateSteps(reservation) }
  }

  /// From the source's `STOP` to the destination's `RESUME`, as QEMU stamped the two events:
  /// QEMU's own downtime ends when the last byte left the source, but the destination stays
  /// paused until commitment and activation. Known once, for a move this driver activated.
  public func outage(of reservation: Reservation) async -> Double? {
    outages.removeValue(forKey: reservation.token)
  }

  // MARK: Cold and power

  /// Shuts `vm` down on `host` (ACPI powerdown, `quit` after `timeout`).
  public func shutdown(vm: String, on host: String, timeout: TimeSpan) async throws {
    try await asDriverError("the shutdown", vm: vm, host: host) {
      try await shutdownSteps(vm: vm, on: host, timeout: timeout)
    }
  }

  /// Starts `vm` on `host`.
  public func start(vm: String, on host: String) async throws {
    try await asDriverError("starting the VM", vm: vm, host: host) { try await startSteps(vm: vm, on: host) }
  }

  /// Stage 2 (cold): copies the definition, logs and the disks to copy, verified by SHA-256.
  public func copyFiles(_ request: MigrationRequest, reservation: Reservation) async throws -> CopyResult {
    try await asDriverError("copying the VM's files", vm: request.vm, host: request.to) {
      try await copyFilesSteps(request, reservation: reservation)
    }
  }

  /// Stage 3 (cold): defines the copied VM on the destination, off.
  public func register(_ request: MigrationRequest, reservation: Reservation) async throws {
    try await asDriverError("registering the VM", vm: request.vm, host: request.to) {
      try await registerSteps(request, reservation: reservation)
    }
  }

  /// Stage 4 (cold): removes the source definition and the source copies of moved disks.
  public func removeSource(_ request: MigrationRequest) async throws {
    try await asDriverError("removing the source", vm: request.vm, host: request.from) {
      try await removeSourceSteps(request)
    }
  }

  /// Rollback of a cold move: removes what was copied or registered on the destination.
  public func discardDestination(_ request: MigrationRequest, reservation: Reservation) async throws {
    try await asDriverError("discarding the destination copy", vm: request.vm, host: request.to) {
      try await discardDestinationSteps(request, reservation: reservation)
    }
  }
}
