import BallastModel

extension SimulatedDriver {
  public func shutdown(vm: String, on host: String, timeout: TimeSpan) async throws {
    applyDue()
    if let kind = takeStageFault(vm, .verifyOff) {
      throw injected(vm, host: host, "the guest did not shut down", kind: kind)
    }
    try requireReachable(host, vm: vm)
    guard let current = instance(vm, on: host), current.owner else {
      throw DriverError(vm: vm, host: host, "the VM is not on this host", kind: .refused)
    }
    guard current.state != .stopped else { return }
    if current.state != .running {
      throw DriverError(
        vm: vm, host: host, "the VM is \(current.state.rawValue), not running: it cannot shut down", kind: .refused)
    }
    await wait(min(shutdownSeconds(of: vm), max(timeout.seconds, 0)))
    try requireReachable(host, vm: vm)
    updateInstance(vm, on: host) { $0.state = .stopped }
    updateVM(vm) { $0.state = .stopped }
    try persist()
  }

  public func start(vm: String, on host: String) async throws {
    applyDue()
    if awaitingStart.contains(vm), let kind = takeStageFault(vm, .start) {
      throw injected(vm, host: host, "the VM did not start on the destination", kind: kind)
    }
    try requireReachable(host, vm: vm)
    let config = try requireVM(vm)
    guard let current = instance(vm, on: host), current.owner else {
      throw DriverError(vm: vm, host: host, "the VM is not defined on this host", kind: .refused)
    }
    guard current.state == .stopped else { return }
    try requireFreeMemory(config.memory.bytes, on: host, vm: vm)
    updateInstance(vm, on: host) { $0.state = .running }
    updateVM(vm) { $0.state = .running }
    try persist()
    await wait(bootSeconds(of: vm))
    if state.downHosts.contains(host) {
      throw DriverError(vm: vm, host: host, "the host lost power while the VM booted", kind: .unreachable)
    }
    awaitingStart.remove(vm)
    persistQuietly()  // saved as running before the boot; this only updates the time
  }

  public func copyFiles(_ request: MigrationRequest, reservation: Reservation) async throws -> CopyResult {
    let reservation = resolved(reservation)
    applyDue()
    let vm = request.vm
    if let kind = takeStageFault(vm, .copy) {
      throw injected(vm, host: request.to, "copying the VM's files failed (I/O error)", kind: kind)
    }
    guard let record = state.reservations[reservation.token], record.phase == .reserved else {
      throw DriverError(
        vm: vm, host: request.to, "no reservation ready to receive (token \(reservation.token))", kind: .refused)
    }
    try requireReachable(request.from, vm: vm)
    try requireReachable(request.to, vm: vm)
    guard let source = instance(vm, on: request.from), source.owner, source.state == .stopped else {
      throw DriverError(
        vm: vm, host: request.from, "the VM is not off on its source: a cold copy needs it off", kind: .refused)
    }
    let target = try destinationDatastore(for: request)
    state.reservations[reservation.token]?.phase = .transferring
    try persist()
    let bytes = request.disksToCopy.reduce(timings.configurationBytes) { $0 + $1.bytesToCopy.double }
    let flow = openFlow(from: request.from, to: request.to, cap: request.bandwidthCap)
    let seconds: Double
    do {
      seconds = try await send(flow, bytes: bytes, vm: vm, token: nil)
      closeFlow(flow)
    } catch {
      closeFlow(flow)
      state.reservations[reservation.token]?.phase = .reserved
      persistQuietly()
      throw error
    }
    var checksums = ["configuration": source.checksum]
    for (i, disk) in request.disksToCopy.enumerated() {
      checksums["disk\(i)@\(disk.datastore)"] = source.checksum
    }
    if takeChecksumFault(vm) {
      state.reservations[reservation.token]?.phase = .reserved
      persistQuietly()
      throw DriverError(
        vm: vm, host: request.to,
        "the copy on the destination does not match its source (checksum mismatch); "
          + "the bad copy was removed", hint: "retry the migration")
    }
    state.reservations[reservation.token]?.copiedDisks = request.disksToCopy.map {
      Disk(datastore: target ?? $0.datastore, size: $0.size, path: $0.path, allocated: $0.allocated)
    }
    state.reservations[reservation.token]?.phase = .transferred
    try persist()
    return CopyResult(bytes: bytes, seconds: seconds, checksums: checksums)
  }

  /// The datastore copied disks go to on the destination: its first local one, else its first.
  private func destinationDatastore(for request: MigrationRequest) throws -> String? {
    guard !request.disksToCopy.isEmpty else { return nil }
    guard let i = hostPosition[request.to] else { throw DriverError(host: request.to, "no such host", kind: .refused) }
    let mounted = state.cluster.hosts[i].datastores
    let local = mounted.first { name in state.cluster.datastore(named: name)?.shared == false }
    guard let chosen = local ?? mounted.first else {
      throw DriverError(
        vm: request.vm, host: request.to, "the destination mounts no datastore to copy the disks to",
        hint: "mount a datastore on the host", kind: .refused)
    }
    return chosen
  }

  public func register(_ request: MigrationRequest, reservation: Reservation) async throws {
    let reservation = resolved(reservation)
    applyDue()
    let vm = request.vm
    if let kind = takeStageFault(vm, .register) {
      throw injected(vm, host: request.to, "the destination refused the VM definition", kind: kind)
    }
    guard let record = state.reservations[reservation.token], record.phase == .transferred else {
      throw DriverError(
        vm: vm, host: request.to, "nothing to register: the files were not copied and verified", kind: .refused)
    }
    try requireReachable(request.to, vm: vm)
    guard let source = instance(vm, on: request.from), source.owner else {
      throw DriverError(vm: vm, host: request.from, "the VM is no longer on its source", kind: .refused)
    }
    addInstance(
      vm,
      SimulatedInstance(host: request.to, state: .stopped, owner: false, checksum: source.checksum))
    try persist()
    await wait(timings.registerSeconds)
    try requireReachable(request.to, vm: vm)
    state.reservations[reservation.token]?.phase = .registered
    try persist()
  }

  public func removeSource(_ request: MigrationRequest) async throws {
    applyDue()
    let vm = request.vm
    if let kind = takeStageFault(vm, .commitment) {
      throw injected(vm, host: request.from, "removing the source definition failed", kind: kind)
    }
    guard
      let (token, record) = state.reservations.first(where: {
        $0.value.request.vm == vm && $0.value.request.to == request.to
      }), record.phase == .registered
    else {
      if instance(vm, on: request.to)?.owner == true, instance(vm, on: request.from) == nil { return }  // done
      throw DriverError(
        vm: vm, host: request.to, "the destination copy is not registered: keeping the source", kind: .refused)
    }
    try requireReachable(request.from, vm: vm)
    try requireReachable(request.to, vm: vm)
    guard let source = instance(vm, on: request.from), source.owner, let copy = instance(vm, on: request.to),
      copy.checksum == source.checksum
    else {
      throw DriverError(
        vm: vm, host: request.to, "the destination copy is not verified: keeping the source", kind: .refused)
    }
    await wait(timings.removeSeconds)
    try requireReachable(request.to, vm: vm)
    removeInstance(vm, on: request.from)
    updateInstance(vm, on: request.to) { $0.owner = true }
    let copied = record.copiedDisks
    let destination = hostPosition[request.to].map { state.cluster.hosts[$0] }
    updateVM(vm) { config in
      config.host = request.to
      // Redefined on a host that cannot offer its CPU model, it boots with the host's own.
      if let destination,
        !CPUModels.missingFeatures(
          vmModel: config.cpuModel, hostModel: destination.cpuModel, hostExtra: destination.cpuFeatures
        ).isEmpty
      {
        config.cpuModel = destination.cpuModel
      }
      var remaining = copied[...]
      config.disks = config.disks.map { disk in
        guard request.disksToCopy.contains(disk), let moved = remaining.first else { return disk }
        remaining = remaining.dropFirst()
        return moved
      }
    }
    state.reservations[token] = nil
    awaitingStart.insert(vm)
    try persist()
  }

  public func discardDestination(_ request: MigrationRequest, reservation: Reservation) async throws {
    let reservation = resolved(reservation)
    applyDue()
    if let record = state.reservations[reservation.token], record.phase == .committed {
      throw DriverError(
        vm: request.vm, host: request.to, "the move was committed: the destination copy is the VM", kind: .refused)
    }
    if !state.downHosts.contains(request.to) {
      if let copy = instance(request.vm, on: request.to), !copy.owner {
        removeInstance(request.vm, on: request.to)
        await wait(timings.removeSeconds)
      }
    }
    state.reservations[reservation.token] = nil
    try persist()
  }
}
