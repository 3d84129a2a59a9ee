import BallastEngine
import BallastModel
import CLibvirt
import Foundation
import Synchronization

extension LibvirtDriver {
  // MARK: Stage 1: reservation

  /// Checks that both daemons answer, the VM is on its source only and, for a live move, that
  /// the destination's CPU runs the VM's (libvirt's own comparison). The capacity itself is
  /// held by the engine: libvirt has no reservation of its own. A leftover incoming domain of
  /// an earlier attempt is removed while the source still holds the VM.
  public func reserve(_ request: MigrationRequest) async throws -> Reservation {
    let placements = try await locate(vm: request.vm)
    guard placements.contains(where: { $0.host == request.from && $0.state != .incoming }) else {
      throw DriverError(
        vm: request.vm, host: request.from, "the VM is not on this host (it is \(describe(placements)))",
        hint: "refresh the inventory and plan again")
    }
    if let copy = placements.first(where: { $0.host == request.to }) {
      guard copy.state == .incoming || (request.kind == .cold && copy.state == .stopped) else {
        throw DriverError(
          vm: request.vm, host: request.to, "the destination already holds a \(copy.state.rawValue) copy of the VM",
          hint: "run `ballast reconcile`")
      }
      if copy.state == .incoming { try await removeDestinationDomain(request) }
    }
    logger.info("reserved", metadata: ["vm": "\(request.vm)", "host": "\(request.to)", "kind": "\(request.kind)"])
    return Reservation(request: request, token: "libvirt:\(request.from)>\(request.to)")
  }

  /// Stage 0's own check of this driver: for a live move, libvirt compares the VM's CPU with
  /// the destination's (`virConnectCompareHypervisorCPU`). A declared generation is the truth
  /// instead (a lab's daemons all report this machine's CPU), checked by the shared CPU check.
  public func additionalChecks(
    _ move: PlannedMove, vm: VM, destination: BallastModel.Host
  ) async throws
    -> NotPossible?
  {
    guard move.kind == .live, settings.host(named: destination.name)?.cpuModel == nil,
      let refusal = try await cpuRefusal(vm: move.vm, from: move.from, to: destination.name)
    else { return nil }
    return NotPossible(check: .driver("libvirt-cpu-compare"), reason: refusal)
  }

  /// libvirt's verdict on running `vm`'s CPU on `to`, or `nil` when it can (or the VM's CPU is
  /// its host's, which only the same CPU model can take: checked by Ballast's table).
  func cpuRefusal(vm: String, from: String, to: String) async throws -> String? {
    let cpuXML: String? = try await onHost(from, vm: vm, "reading the VM's CPU") { connection in
      guard let domain = try connection.domain(named: vm) else { return nil }
      let description = try DomainDescription(xml: domain.xml())
      return description.cpuMode == .custom && description.cpuModel != nil ? description.cpuXML : nil
    }
    guard let cpuXML else { return nil }
    let runs = try await onHost(to, vm: vm, "comparing CPUs") { connection in try connection.canRun(cpuXML: cpuXML) }
    return runs ? nil : "libvirt on \(to) says its CPU cannot run \(vm)'s CPU (a live move would crash the guest)"
  }

  /// Removes the destination copy of a move that did not commit: destroys and undefines it
  /// there, only while the source still holds the VM.
  public func release(_ reservation: Reservation) async throws {
    let request = reservation.request
    switchoverEnds[reservation.token] = nil
    if request.kind == .cold { return try await discardDestination(request, reservation: reservation) }
    try await resumeIfMigrating(request)
    try await removeDestinationDomain(request)
    logger.info("released destination", metadata: ["vm": "\(request.vm)", "host": "\(request.to)"])
  }

  /// Destroys and undefines the destination's copy when the source still holds the VM; refuses
  /// when the destination's copy runs or the source has none (it may be the only copy).
  func removeDestinationDomain(_ request: MigrationRequest) async throws {
    let placements = try await locate(vm: request.vm)
    guard let copy = placements.first(where: { $0.host == request.to }) else { return }
    guard placements.contains(where: { $0.host == request.from }) else {
      throw DriverError(
        vm: request.vm, host: request.to,
        "the destination holds the only copy of the VM (\(copy.state.rawValue)); it is not removed",
        hint: "run `ballast reconcile`, which activates it there")
    }
    guard copy.state != .running else {
      throw DriverError(
        vm: request.vm, host: request.to, "the VM runs on the destination as well as on its source; nothing removed",
        hint: "stop the copy that should not run, then run `ballast reconcile`")
    }
    try await onHost(request.to, vm: request.vm, "removing the destination's copy") { connection in
      guard let domain = try connection.domain(named: request.vm) else { return }
      if !DomainStatus(state: try domain.state().state, reason: 0, job: nil).isOff { try? domain.destroy() }
      if domain.isPersistent { try domain.undefine() }
    }
  }

  // MARK: Stages 2–4: pre-copy, stop-and-copy and commitment, in one libvirt call

  public func transfer(
    _ reservation: Reservation, settings liveSettings: LiveSettings,
    onEvent: @Sendable (TransferEvent) async -> Void
  ) async throws -> TransferResult {
    let request = reservation.request
    let vm = request.vm
    let destination = try await connection(request.to, vm: vm)
    let bandwidth = liveSettings.bandwidthCap ?? linkBandwidth(request)
    let parameters = try migrationParameters(request, settings: liveSettings, bandwidth: bandwidth)
    let flags = migrationFlags(liveSettings)
    let destinationURI = uris[request.to] ?? ""
    let peerToPeer = settings.mode == .peerToPeer
    let domain: LibvirtDomain = try await onHost(request.from, vm: vm, "finding the VM") { connection in
      guard let domain = try connection.domain(named: vm) else {
        throw DriverError(vm: vm, host: request.from, "the VM is not on its source any more")
      }
      return domain
    }
    let memory = try await Libvirt.run("reading the VM's size") { try DomainDescription(xml: domain.xml()) }
      .memoryBytes
    var progress = LibvirtTransferProgress(
      settings: liveSettings, memory: Double(memory), bandwidth: bandwidth.bytesPerSecond)
    logger.info(
      "live migration started",
      metadata: [
        "vm": "\(vm)", "from": "\(request.from)", "to": "\(request.to)", "bandwidth": "\(bandwidth)",
        "mode": "\(settings.mode.rawValue)",
      ])
    let finished = FinishFlag()
    let migration = Task {
      try await Libvirt.run("migrating \(vm)") {
        defer { finished.set() }
        if peerToPeer {
          try domain.migrate(toURI: destinationURI, parameters: parameters.list, flags: flags)
        } else {
          _ = try domain.migrate(to: destination, parameters: parameters.list, flags: flags)
        }
      }
    }
    let deadline = Date().addingTimeInterval(options.transferTimeout)
    var downtimeSet = false
    var failure: DriverError?
    var lastPing = Date()
    while failure == nil {
      try? await Task.sleep(for: .seconds(options.pollInterval))
      if finished.isSet { break }
      if Date().timeIntervalSince(lastPing) >= 1 {
        // The destination daemon must finish the migration: when it is gone, QEMU would keep
        // streaming into a process nobody will ever resume.
        lastPing = Date()
        do {
          try await Libvirt.run("checking the destination") { try destination.ping() }
        } catch {
          connections[request.to] = nil
          failure = DriverError(
            vm: vm, host: request.to,
            "the destination's libvirt daemon stopped answering during the transfer: \(error)",
            hint: "the VM stays on \(request.from)")
          break
        }
      }
      let reading: (job: LibvirtJob, status: DomainStatus)? = try? await Libvirt.run("reading the migration") {
        let state = try domain.state()
        return (try domain.jobStats(), DomainStatus(state: state.state, reason: state.reason, job: nil))
      }
      guard let reading, reading.job.isRunning else { continue }
      if !downtimeSet {
        downtimeSet = true
        let limit = UInt64(max(liveSettings.downtimeLimit.milliseconds.rounded(), 1))
        try? await Libvirt.run("setting the downtime limit") { try domain.setMaxDowntime(milliseconds: limit) }
      }
      if let round = progress.observe(reading.job) {
        await onEvent(.round(round))
        failure = await applyConvergencePolicy(&progress, domain: domain, vm: vm, host: request.from)
      }
      if reading.status.isPaused, !progress.stopAndCopyAnnounced {
        progress.stopAndCopyAnnounced = true
        await onEvent(.stopAndCopyStarting(remaining: progress.lastRemaining))
      }
      if Date() > deadline {
        failure = DriverError(
          vm: vm, host: request.from, "the migration did not finish within \(Int(options.transferTimeout)) s")
      }
    }
    if let failure {
      try? await Libvirt.run("aborting the migration") { try domain.abortJob() }
      _ = try? await migration.value
      try? await resumeIfMigrating(request)
      throw failure
    }
    do {
      try await migration.value
    } catch {
      try? await resumeIfMigrating(request)
      throw DriverError(
        vm: vm, host: request.from, "libvirt's migration to \(request.to) failed: \(error)",
        hint: "the VM stays on \(request.from)")
    }
    if !progress.stopAndCopyAnnounced {
      progress.stopAndCopyAnnounced = true
      await onEvent(.stopAndCopyStarting(remaining: progress.lastRemaining))
    }
    let returned = ContinuousClock.now
    let completed: LibvirtJob? = try? await onHost(request.to, vm: vm, "reading the completed migration") {
      connection in try connection.domain(named: vm)?.jobStats(completed: true)
    }
    let result = progress.result(completed)
    switchoverEnds[reservation.token] = (returned, result.downtimeMs / 1000)
    logger.info(
      "live migration completed",
      metadata: [
        "vm": "\(vm)", "rounds": "\(result.rounds)", "seconds": "\(result.totalSeconds)",
        "downtimeMs": "\(result.downtimeMs)", "bytes": "\(Int64(result.bytesSent))",
      ])
    return result
  }

  /// The link's bandwidth between the two hosts (the slower side's).
  func linkBandwidth(_ request: MigrationRequest) -> Bandwidth {
    let bandwidth = { (host: String) in
      self.settings.host(named: host)?.migrationBandwidth ?? self.settings.migrationBandwidth
    }
    return min(bandwidth(request.from), bandwidth(request.to))
  }

  /// libvirt's parameters of the migration: where the stream goes, the bandwidth cap and the
  /// auto-converge throttle.
  nonisolated func migrationParameters(
    _ request: MigrationRequest, settings liveSettings: LiveSettings, bandwidth: Bandwidth
  )
    throws -> SendableParameters
  {
    let list = TypedParameterList()
    if let uri = settings.host(named: request.to)?.migrationURI {
      try list.add(VIR_MIGRATE_PARAM_URI, string: uri)
    }
    let mebibytes = (bandwidth.bytesPerSecond / 1_048_576).rounded(.up)
    try list.add(VIR_MIGRATE_PARAM_BANDWIDTH, unsigned: UInt64(min(max(mebibytes, 1), 1e12)))
    let convergence = liveSettings.convergence
    if convergence.onNoConvergence == .throttle {
      try list.add(VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL, integer: percent(convergence.throttleInitial))
      try list.add(VIR_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT, integer: percent(convergence.throttleIncrement))
    }
    return SendableParameters(list: list)
  }

  nonisolated func percent(_ fraction: Double) -> Int32 { Int32(min(max((fraction * 100).rounded(), 1), 99)) }

  /// `LIVE | PERSIST_DEST | UNDEFINE_SOURCE | PAUSED`: when libvirt returns, the source is
  /// gone and the destination holds the VM, paused, for Ballast's activation stage. Plus
  /// auto-converge, peer-to-peer, TLS and unsafe as the policy and the file say.
  nonisolated func migrationFlags(_ liveSettings: LiveSettings) -> UInt32 {
    var flags =
      VIR_MIGRATE_LIVE.rawValue | VIR_MIGRATE_PERSIST_DEST.rawValue | VIR_MIGRATE_UNDEFINE_SOURCE.rawValue
      | VIR_MIGRATE_PAUSED.rawValue | VIR_MIGRATE_ABORT_ON_ERROR.rawValue
    if liveSettings.convergence.onNoConvergence == .throttle { flags |= VIR_MIGRATE_AUTO_CONVERGE.rawValue }
    if settings.mode == .peerToPeer { flags |= VIR_MIGRATE_PEER2PEER.rawValue }
    if settings.tls { flags |= VIR_MIGRATE_TLS.rawValue }
    if settings.unsafe { flags |= VIR_MIGRATE_UNSAFE.rawValue }
    return flags
  }

  /// Acts on a migration that does not converge, per the policy; returns the failure that
  /// must stop it, if any.
  func applyConvergencePolicy(
    _ progress: inout LibvirtTransferProgress, domain: LibvirtDomain, vm: String, host: String
  ) async -> DriverError? {
    switch progress.watch.action() {
    case .none:
      return nil
    case .abort(let reason):
      return DriverError(vm: vm, host: host, reason, hint: "the VM keeps running on \(host)")
    case .raiseDowntimeLimit(let milliseconds):
      let limit = UInt64(max(milliseconds, 1))
      try? await Libvirt.run("raising the downtime limit") { try domain.setMaxDowntime(milliseconds: limit) }
      return nil
    }
  }

  // MARK: Rollback, commitment, activation

  /// Rollback before commitment: aborts a migration job still running on the source and makes
  /// sure the VM runs there. Throws when the VM is no longer on its source (libvirt completed
  /// the migration: it is committed on the destination).
  public func resumeOnSource(_ reservation: Reservation) async throws {
    let request = reservation.request
    try await resumeIfMigrating(request)
    let state: DomainStatus? = try await onHost(request.from, vm: request.vm, "checking the source") { connection in
      guard let domain = try connection.domain(named: request.vm) else { return nil }
      let state = try domain.state()
      return DomainStatus(state: state.state, reason: state.reason, job: nil)
    }
    guard let state else {
      let placements = (try? await locate(vm: request.vm)).map(describe) ?? "somewhere Ballast cannot see now"
      throw DriverError(
        vm: request.vm, host: request.from,
        "the VM is no longer on its source (it is \(placements)): libvirt completed the migration",
        hint: "run `ballast reconcile`, which activates it on \(request.to)")
    }
    guard state.isRunning else {
      throw DriverError(
        vm: request.vm, host: request.from, "the VM did not resume on its source: it is \(state.placement.rawValue)")
    }
  }

  /// Aborts the VM's outgoing migration job on its source, waits for the job to end, and
  /// resumes the source when it is left paused.
  func resumeIfMigrating(_ request: MigrationRequest) async throws {
    let wait = options.abortWait
    let poll = options.pollInterval
    try await onHost(request.from, vm: request.vm, "stopping the migration") { connection in
      guard let domain = try connection.domain(named: request.vm) else { return }
      let deadline = Date().addingTimeInterval(wait)
      var aborted = false
      while let job = try? domain.jobStats(), job.isRunning, Date() < deadline {
        if !aborted {
          try? domain.abortJob()
          aborted = true
        }
        Thread.sleep(forTimeInterval: poll)
      }
      let state = try domain.state()
      if state.state == VIR_DOMAIN_PAUSED.rawValue {
        try domain.resume()
      }
    }
  }

  /// Commitment, for a backend whose migration call commits: checks that the destination
  /// holds the VM and the source gave it up.
  public func commit(_ reservation: Reservation) async throws {
    let request = reservation.request
    let placements = try await locate(vm: request.vm)
    guard let copy = placements.first(where: { $0.host == request.to }), copy.state != .incoming else {
      throw DriverError(
        vm: request.vm, host: request.to, "the destination holds no complete copy (the VM is \(describe(placements)))")
    }
    if let source = placements.first(where: { $0.host == request.from }), source.state != .stopped {
      throw DriverError(
        vm: request.vm, host: request.from, "the source still holds the VM (\(source.state.rawValue)); not committed")
    }
  }

  /// Stage 5: resumes the VM on the destination and removes any definition left on the source.
  public func activate(_ reservation: Reservation) async throws {
    let request = reservation.request
    try await commit(reservation)
    try await onHost(request.to, vm: request.vm, "resuming the VM") { connection in
      guard let domain = try connection.domain(named: request.vm) else {
        throw DriverError(vm: request.vm, host: request.to, "the VM is not on the destination")
      }
      let state = try domain.state()
      if state.state == VIR_DOMAIN_PAUSED.rawValue { try domain.resume() }
    }
    // libvirt's downtime runs from the source's stop to the destination's Finish (its hosts'
    // clocks); the guest stayed paused from the migration call's return until this resume.
    if let end = switchoverEnds.removeValue(forKey: reservation.token) {
      outages[reservation.token] = end.downtime + (ContinuousClock.now - end.at).milliseconds / 1000
    }
    try await onHost(request.from, vm: request.vm, "removing the source's definition") { connection in
      guard let domain = try connection.domain(named: request.vm) else { return }
      let state = try domain.state()
      if state.state == VIR_DOMAIN_SHUTOFF.rawValue, domain.isPersistent { try domain.undefine() }
    }
    logger.info("activated", metadata: ["vm": "\(request.vm)", "host": "\(request.to)"])
  }

  /// The guest's outage in the live move of `reservation`, once activated: libvirt's downtime
  /// plus the wait from the migration call's return to the resume (the call returns after the
  /// source's confirmation, a little after Finish: an estimate from below). Told once.
  public func outage(of reservation: Reservation) async -> Double? {
    outages.removeValue(forKey: reservation.token)
  }

  nonisolated func describe(_ placements: [VMPlacement]) -> String {
    placements.isEmpty ? "on no host" : placements.map { "\($0.state.rawValue) on \($0.host)" }.joined(separator: ", ")
  }
}

/// Migration parameters handed to the thread that makes the call; only that thread reads them.
struct SendableParameters: @unchecked Sendable {
  let list: TypedParameterList
}

/// Set once, from the thread that makes a blocking call, when the call returned.
final class FinishFlag: Sendable {
  private let state = Mutex(false)
  func set() { state.withLock { $0 = true } }
  var isSet: Bool { state.withLock { $0 } }
}
