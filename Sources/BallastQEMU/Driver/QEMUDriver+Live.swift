import BallastDriverSupport
import BallastEngine
import BallastModel
import Foundation

extension QEMUDriver {
  // MARK: Stage 1: reservation

  func reserveSteps(_ request: MigrationRequest) async throws -> Reservation {
    switch request.kind {
    case .live: return try await reserveLive(request)
    case .cold: return try reserveCold(request)
    }
  }

  private func reserveLive(_ request: MigrationRequest) async throws -> Reservation {
    let vm = request.vm
    try requireSource(request)
    let problems = try await liveMigrationProblems(vm: vm, to: request.to)
    guard problems.isEmpty else {
      throw DriverError(
        vm: vm, host: request.to,
        "cannot migrate live: " + problems.map(\.reason).joined(separator: "; "),
        hint: "migrate it cold, or pick another destination")
    }
    try clearStaleReservation(vm, on: request.to)
    var incoming = try definition(vm, on: request.from)
    incoming.role = .incoming
    incoming.powerState = .running
    try FileManager.default.createDirectory(
      atPath: layout.vmDirectory(vm, on: request.to), withIntermediateDirectories: true)
    try incoming.save(to: layout.definitionFile(vm, on: request.to))
    do {
      let instance = try await lab.launch(incoming, on: request.to, mode: .incoming)
      let qmp = try await client(instance)
      try await qmp.execute(
        "migrate-set-capabilities", ["capabilities": [["capability": "events", "state": true]]])
      try await qmp.execute("migrate-incoming", ["uri": "tcp:127.0.0.1:0"])
      let info = MigrationInfo(try await qmp.execute("query-migrate"))
      guard let port = info.listeningPort else {
        throw DriverError(vm: vm, host: request.to, "the incoming QEMU did not report the port it listens on")
      }
      logger.info(
        "reserved destination", metadata: ["vm": "\(vm)", "host": "\(request.to)", "port": "\(port)"])
      return Reservation(request: request, token: ReservationToken(uri: "tcp:127.0.0.1:\(port)").encoded)
    } catch {
      let to = request.to
      await Task { await self.removeIncoming(vm, on: to) }.value
      throw Self.wrap(error, vm: vm, host: request.to, doing: "starting the incoming QEMU")
    }
  }

  /// Removes a leftover reservation of `vm` on `host` (an incoming definition whose QEMU is
  /// gone); refuses when the host holds a real copy of the VM.
  private func clearStaleReservation(_ vm: String, on host: String) throws {
    let directory = layout.vmDirectory(vm, on: host)
    guard FileManager.default.fileExists(atPath: directory) else { return }
    let existing = try? VMDefinition.load(layout.definitionFile(vm, on: host))
    guard existing?.role ?? .incoming == .incoming, lab.instance(vm: vm, on: host) == nil else {
      throw DriverError(
        vm: vm, host: host, "the host already holds a copy of this VM (\(existing?.role.rawValue ?? "unknown"))",
        hint: "run `ballast reconcile`")
    }
    try FileManager.default.removeItem(atPath: directory)
  }

  func requireSource(_ request: MigrationRequest) throws {
    let home = lab.hostDefining(request.vm)
    guard home == request.from else {
      throw DriverError(
        vm: request.vm, host: request.from,
        home.map { "the VM is on \($0), not on \(request.from)" } ?? "the VM is not defined on any lab host",
        hint: "refresh the inventory and plan again", kind: .refused)
    }
    _ = try requireHost(request.to, vm: request.vm)
  }

  /// Quits the incoming QEMU of `vm` on `host` and deletes its directory (only a reservation).
  func removeIncoming(_ vm: String, on host: String) async {
    if let instance = lab.instance(vm: vm, on: host) {
      await lab.stop(instance, gracePeriod: 0)
    }
    if let definition = try? VMDefinition.load(layout.definitionFile(vm, on: host)), definition.role != .incoming {
      return
    }
    try? FileManager.default.removeItem(atPath: layout.vmDirectory(vm, on: host))
  }

  /// Removes the destination container. Accepts the reconciler's empty token (a dead
  /// process's reservation): the container is found from the request. A source still
  /// migrating into the container (a Ballast killed during pre-copy) has its migration
  /// cancelled and keeps running, rather than being left paused at the switchover.
  func releaseSteps(_ reservation: Reservation) async throws {
    let request = reservation.request
    let token =
      reservation.token.isEmpty
      ? ReservationToken(staging: request.kind == .cold ? layout.stagingDirectory(request.vm, on: request.to) : nil)
      : try ReservationToken(reservation)
    if let staging = token.staging {
      try? FileManager.default.removeItem(atPath: staging)
      return
    }
    let file = layout.definitionFile(request.vm, on: request.to)
    if let definition = try? VMDefinition.load(file), definition.role != .incoming {
      throw DriverError(
        vm: request.vm, host: request.to,
        "the reservation was committed (the destination is the VM's home now); it cannot be released")
    }
    if await isMigrating(request.vm, on: request.from) {
      await cancelAndResume(request.vm, on: request.from)
    }
    await removeIncoming(request.vm, on: request.to)
    await closeMonitors(of: request.vm, on: [request.from, request.to])
    logger.info("released destination", metadata: ["vm": "\(request.vm)", "host": "\(request.to)"])
  }

  // MARK: Stages 2–3: pre-copy and stop-and-copy

  func transferSteps(
    _ reservation: Reservation, settings: LiveSettings, onEvent: @Sendable (TransferEvent) async -> Void
  ) async throws -> TransferResult {
    let request = reservation.request
    let vm = request.vm
    guard let uri = try ReservationToken(reservation).uri else {
      throw DriverError(vm: vm, host: request.to, "not a live reservation")
    }
    let source = try requireInstance(vm, on: request.from, role: "source")
    let destination = try requireInstance(vm, on: request.to, role: "destination")
    let qmp = try await client(source)
    let definition = try self.definition(vm, on: request.from)
    let bandwidth = try settings.bandwidthCap ?? linkBandwidth(request)
    var run = LiveTransferRun(
      settings: settings, memory: Double(definition.memoryBytes), bandwidth: bandwidth.bytesPerSecond)
    do {
      try await configure(qmp, settings: settings, bandwidth: bandwidth)
      switchoverStops[reservation.token] = nil  // a port reused after an earlier move's rollback
      var cursor = await qmp.eventCount
      let migrationEvents = cursor
      try await qmp.execute("migrate", ["uri": .string(uri)])
      logger.info(
        "live migration started",
        metadata: [
          "vm": "\(vm)", "from": "\(request.from)", "to": "\(request.to)", "bandwidth": "\(bandwidth)",
          "downtimeLimit": "\(settings.downtimeLimit)",
        ])
      let deadline = Date().addingTimeInterval(options.transferTimeout)
      while true {
        _ = await qmp.waitForEvent(["MIGRATION", "MIGRATION_PASS"], since: cursor, timeout: options.pollInterval)
        cursor = await qmp.eventCount
        try Task.checkCancellation()
        guard destination.isAlive else {
          throw DriverError(
            vm: vm, host: request.to, "the destination QEMU exited during the transfer", kind: .unreachable)
        }
        guard Date() < deadline else {
          throw DriverError(
            vm: vm, host: request.to, "the transfer did not finish within \(Int(options.transferTimeout))s")
        }
        let info = MigrationInfo(try await qmp.execute("query-migrate"))
        if let round = run.observe(info) {
          await onEvent(.round(round))
          if info.status == .active {
            try await applyConvergencePolicy(&run, qmp: qmp, vm: vm, host: request.from)
          }
        }
        switch info.status {
        case .setup, .active:
          continue
        case .preSwitchover:
          if !run.stopAndCopyAnnounced {
            run.stopAndCopyAnnounced = true
            if let last = run.closeRounds(info) { await onEvent(.round(last)) }
            await onEvent(.stopAndCopyStarting(remaining: Double(info.remaining)))
          }
          if run.continuesSwitchover(at: info.status) {
            try await qmp.execute("migrate-continue", ["state": "pre-switchover"])
          }
        case .device:
          continue
        case .completed:
          if !run.stopAndCopyAnnounced {
            run.stopAndCopyAnnounced = true
            if let last = run.closeRounds(info) { await onEvent(.round(last)) }
            await onEvent(.stopAndCopyStarting(remaining: 0))
          }
          try await waitForCompleteDestination(destination, vm: vm)
          if let stop = await qmp.waitForEvent(["STOP"], since: migrationEvents, timeout: 0) {
            switchoverStops[reservation.token] = stop.timestamp
          }
          let result = run.result(try await finalFigures(qmp, completed: info))
          try await QEMUStepDelays.pause(options.stepDelays.afterTransfer)
          logger.info(
            "live migration completed",
            metadata: [
              "vm": "\(vm)", "rounds": "\(result.rounds)", "seconds": "\(result.totalSeconds)",
              "downtimeMs": "\(result.downtimeMs)", "bytes": "\(Int64(result.bytesSent))",
            ])
          return result
        case .failed:
          throw DriverError(
            vm: vm, host: request.from, "QEMU reports the migration failed: \(info.errorDescription ?? "no reason")")
        case .cancelling, .cancelled:
          throw DriverError(vm: vm, host: request.from, "the migration was cancelled")
        default:
          continue
        }
      }
    } catch {
      // A fresh task: cleanup must run even when this one was cancelled.
      let from = request.from
      _ = await Task { await self.cancelAndResume(vm, on: from) }.value
      throw Self.wrap(error, vm: vm, host: request.from, doing: "the live transfer")
    }
  }

  /// The completed migration's figures: QEMU sets the status before it computes the total
  /// time and downtime, so ask again briefly until they are there.
  private func finalFigures(_ qmp: QMPClient, completed: MigrationInfo) async throws -> MigrationInfo {
    var info = completed
    var backoff = PollingBackoff(ceiling: .milliseconds(20))
    for _ in 0..<60 where (info.totalTimeMs ?? 0) == 0 || info.downtimeMs == nil {
      try await backoff.pause()
      info = MigrationInfo(try await qmp.execute("query-migrate"))
    }
    return info
  }

  private func linkBandwidth(_ request: MigrationRequest) throws -> Bandwidth {
    let from = try requireHost(request.from, vm: request.vm)
    let to = try requireHost(request.to, vm: request.vm)
    return min(from.migrationBandwidth, to.migrationBandwidth)
  }

  /// Sets the capabilities and parameters of the coming migration on the source.
  private func configure(_ qmp: QMPClient, settings: LiveSettings, bandwidth: Bandwidth) async throws {
    let convergence = settings.convergence
    let throttle = convergence.onNoConvergence == .throttle
    try await qmp.execute(
      "migrate-set-capabilities",
      [
        "capabilities": [
          ["capability": "events", "state": true],
          ["capability": "auto-converge", "state": .bool(throttle)],
          ["capability": "pause-before-switchover", "state": .bool(options.pauseBeforeSwitchover)],
        ]
      ])
    var parameters: [String: JSONValue] = [
      "downtime-limit": .int(Int64(max(settings.downtimeLimit.milliseconds.rounded(), 1))),
      "max-bandwidth": .int(Int64(max(bandwidth.bytesPerSecond.rounded(), 1))),
    ]
    if throttle {
      parameters["cpu-throttle-initial"] = .int(percent(convergence.throttleInitial))
      parameters["cpu-throttle-increment"] = .int(percent(convergence.throttleIncrement))
      parameters["max-cpu-throttle"] = .int(percent(convergence.throttleMax))
    }
    try await qmp.execute("migrate-set-parameters", .object(parameters))
  }

  private func percent(_ fraction: Double) -> Int64 { Int64(min(max((fraction * 100).rounded(), 1), 99)) }

  /// Acts on a migration that is not converging, per the policy (QEMU itself never gives up).
  private func applyConvergencePolicy(
    _ run: inout LiveTransferRun, qmp: QMPClient, vm: String, host: String
  )
    async throws
  {
    switch run.watch.action() {
    case .none:
      return
    case .abort(let reason):
      throw DriverError(vm: vm, host: host, reason, hint: "the VM keeps running on \(host)")
    case .raiseDowntimeLimit(let milliseconds):
      try await setDowntimeLimit(qmp, milliseconds: milliseconds)
    }
  }

  private func setDowntimeLimit(_ qmp: QMPClient, milliseconds: Int64) async throws {
    try await qmp.execute("migrate-set-parameters", ["downtime-limit": .int(milliseconds)])
  }

  /// Waits until the destination reports the incoming migration completed and itself paused.
  private func waitForCompleteDestination(_ destination: QEMUInstance, vm: String) async throws {
    let qmp = try await client(destination)
    let deadline = Date().addingTimeInterval(options.settleTimeout)
    while true {
      let cursor = await qmp.eventCount
      let state = try await runState(of: destination)
      let incoming = MigrationInfo(try await qmp.execute("query-migrate"))
      if state == .paused && incoming.status == .completed { return }
      if state == .running {
        throw DriverError(vm: vm, host: destination.host, "the destination started running before activation")
      }
      if incoming.status == .failed {
        throw DriverError(
          vm: vm, host: destination.host,
          "the destination could not load the state: \(incoming.errorDescription ?? "no reason")")
      }
      guard Date() < deadline else {
        throw DriverError(
          vm: vm, host: destination.host,
          "the destination is \(state) (incoming \(incoming.status)), not paused with the complete state")
      }
      // The guest is stopped meanwhile: look again as soon as QEMU announces a change of the
      // incoming migration's status (else after 50 ms).
      _ = await qmp.waitForEvent(["MIGRATION"], since: cursor, timeout: 0.05)
      try Task.checkCancellation()
    }
  }

  /// Whether `vm`'s home QEMU on `host` has an outgoing migration in progress.
  func isMigrating(_ vm: String, on host: String) async -> Bool {
    guard lab.hostDefining(vm) == host, let source = lab.instance(vm: vm, on: host),
      let info = try? await client(source).execute("query-migrate")
    else { return false }
    return MigrationInfo(info).isInProgress
  }

  /// Cancels any migration of `vm` on `host` and makes sure the VM runs there again.
  /// Returns why it does not run when it could not be resumed (QEMU's own message), else `nil`.
  @discardableResult
  func cancelAndResume(_ vm: String, on host: String) async -> String? {
    guard let source = lab.instance(vm: vm, on: host), let qmp = try? await client(source) else {
      logger.error("cannot resume: the source QEMU is gone", metadata: ["vm": "\(vm)", "host": "\(host)"])
      return "the source QEMU is gone"
    }
    let deadline = Date().addingTimeInterval(15)
    var info = (try? await qmp.execute("query-migrate")).map(MigrationInfo.init)
    if info?.isInProgress == true { _ = try? await qmp.execute("migrate_cancel") }
    while let current = info, current.isInProgress, Date() < deadline {
      if current.status == .preSwitchover { _ = try? await qmp.execute("migrate_cancel") }
      try? await Task.sleep(for: .milliseconds(50))
      info = (try? await qmp.execute("query-migrate")).map(MigrationInfo.init)
    }
    var refusal: String?
    if let state = try? await runState(of: source), state != .running {
      do {
        try await qmp.execute("cont")
      } catch {
        refusal = "QEMU refused to continue it (\(state)): \(error)"
      }
    }
    let state = (try? await runState(of: source)) ?? .unknown
    logger.info("VM resumed on its source", metadata: ["vm": "\(vm)", "host": "\(host)", "state": "\(state)"])
    return state == .running ? nil : refusal ?? "it is \(state)"
  }

  /// Rolls a live move back before commitment: the VM runs on its source again. After a
  /// completed transfer the destination holds the VM's disks (QEMU takes their locks when the
  /// incoming state is complete), so the uncommitted destination container is stopped first;
  /// ``release(_:)`` then finds nothing left.
  func resumeOnSourceSteps(_ reservation: Reservation) async throws {
    let request = reservation.request
    let definition = try self.definition(request.vm, on: request.from)
    guard definition.role == .active else {
      throw DriverError(
        vm: request.vm, host: request.from,
        "the migration was committed; the source copy was given up and cannot be resumed",
        hint: "activate the destination (ballast reconcile)", kind: .refused)
    }
    guard let source = lab.instance(vm: request.vm, on: request.from) else {
      throw DriverError(
        vm: request.vm, host: request.from, "the source QEMU is gone; the VM cannot be resumed there",
        hint: "start it again with `ballast` (it was not running anywhere else)", kind: .unreachable)
    }
    if (try? await runState(of: source)) == .postmigrate,
      let copy = try? VMDefinition.load(layout.definitionFile(request.vm, on: request.to))
    {
      guard copy.role == .incoming else {
        throw DriverError(
          vm: request.vm, host: request.to,
          "the destination copy is the VM's home (commitment was under way); resuming the source would run it twice",
          hint: "run `ballast reconcile`, which asks the destination to commit again")
      }
      logger.info(
        "stopping the uncommitted destination, which holds the disks since the transfer completed",
        metadata: ["vm": "\(request.vm)", "host": "\(request.to)"])
      await removeIncoming(request.vm, on: request.to)
    }
    if let why = await cancelAndResume(request.vm, on: request.from) {
      throw DriverError(vm: request.vm, host: request.from, "the VM did not resume on its source: \(why)")
    }
    await closeMonitors(of: request.vm, on: [request.from])
  }

  // MARK: Stages 4–5: commitment and activation

  func commitSteps(_ reservation: Reservation) async throws {
    let request = reservation.request
    let vm = request.vm
    try await QEMUStepDelays.pause(options.stepDelays.commit)
    let source = try requireInstance(vm, on: request.from, role: "source")
    let destination = try requireInstance(vm, on: request.to, role: "destination")
    let sourceInfo = MigrationInfo(try await client(source).execute("query-migrate"))
    let sourceState = try await runState(of: source)
    guard sourceInfo.status == .completed, sourceState == .postmigrate else {
      throw DriverError(
        vm: vm, host: request.from,
        "the source is \(sourceState) with migration \(sourceInfo.status); nothing complete to commit")
    }
    try await waitForCompleteDestination(destination, vm: vm)
    var target = try definition(vm, on: request.to)
    target.role = .active
    target.powerState = .running
    try target.save(to: layout.definitionFile(vm, on: request.to))
    var given = try definition(vm, on: request.from)
    given.role = .migratedAway
    try given.save(to: layout.definitionFile(vm, on: request.from))
    logger.info("committed", metadata: ["vm": "\(vm)", "host": "\(request.to)"])
  }

  func activateSteps(_ reservation: Reservation) async throws {
    let request = reservation.request
    let vm = request.vm
    try await QEMUStepDelays.pause(options.stepDelays.activate)
    let target = try definition(vm, on: request.to)
    guard target.role == .active else {
      throw DriverError(vm: vm, host: request.to, "the migration was not committed; cannot activate")
    }
    let destination = try requireInstance(vm, on: request.to, role: "destination")
    let qmp = try await client(destination)
    let stopped = switchoverStops.removeValue(forKey: reservation.token)
    if try await runState(of: destination) != .running {
      let cursor = await qmp.eventCount
      try await qmp.execute("cont")
      // QEMU stamps both events with its host's clock: the lab's hosts share one.
      if let stopped, let resumed = await qmp.waitForEvent(["RESUME"], since: cursor, timeout: 2) {
        outages[reservation.token] = max(resumed.timestamp - stopped, 0)
      }
    }
    try await qmp.execute("announce-self", ["initial": 50, "max": 550, "rounds": 5, "step": 100])
    if let source = lab.instance(vm: vm, on: request.from) {
      await lab.stop(source, gracePeriod: 0)
    }
    let sourceDirectory = layout.vmDirectory(vm, on: request.from)
    if FileManager.default.fileExists(atPath: sourceDirectory) {
      if let given = try? VMDefinition.load(layout.definitionFile(vm, on: request.from)), given.role == .active {
        throw DriverError(vm: vm, host: request.from, "the source is still the VM's home; refusing to remove it")
      }
      keepLogs(of: vm, from: request.from, to: request.to)
      try FileManager.default.removeItem(atPath: sourceDirectory)
    }
    await closeMonitors(of: vm, on: [request.from, request.to])
    logger.info("activated", metadata: ["vm": "\(vm)", "host": "\(request.to)"])
  }

  /// Copies the source's serial and QEMU logs next to the destination's, so history travels.
  func keepLogs(of vm: String, from source: String, to destination: String) {
    for (path, name) in [
      (layout.consoleLog(vm, on: source), "console.\(source).log"),
      (layout.qemuLog(vm, on: source), "qemu.\(source).log"),
    ] where FileManager.default.fileExists(atPath: path) {
      let target = layout.vmDirectory(vm, on: destination) + "/" + name
      try? FileManager.default.removeItem(atPath: target)
      try? FileManager.default.copyItem(atPath: path, toPath: target)
    }
  }

  /// `error` as a ``DriverError`` about `what`, with how likely a second try is to help.
  static func wrap(_ error: any Error, vm: String?, host: String?, doing what: String) -> DriverError {
    if let error = error as? DriverError { return error }
    if let error = error as? QMPError {
      return DriverError(vm: vm, host: host, "\(what) failed: \(error)", kind: Self.kind(of: error.errorClass))
    }
    if error is CancellationError {
      return DriverError(vm: vm, host: host, "\(what) was cancelled; the VM stays on its source")
    }
    return DriverError(vm: vm, host: host, "\(what) failed: \(error)")
  }

  /// Whether a QMP failure can pass: a timeout may; a lost connection means the QEMU process is
  /// gone; QEMU's own refusals stand until its state changes.
  static func kind(of errorClass: QMPErrorClass) -> DriverError.Kind {
    switch errorClass {
    case .timeout: .transient
    case .disconnected, .socketError: .unreachable
    default: .refused
    }
  }
}
