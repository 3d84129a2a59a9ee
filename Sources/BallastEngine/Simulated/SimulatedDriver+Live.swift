import BallastModel

extension SimulatedDriver {
  public func reserve(_ request: MigrationRequest) async throws -> Reservation {
    applyDue()
    let vm = request.vm
    if let kind = takeStageFault(vm, .reservation) {
      throw injected(vm, host: request.to, "the destination refused the reservation", kind: kind)
    }
    try requireReachable(request.from, vm: vm)
    try requireReachable(request.to, vm: vm)
    let config = try requireVM(vm)
    guard let source = instance(vm, on: request.from), source.owner else {
      throw DriverError(vm: vm, host: request.from, "the VM is not on this host", kind: .refused)
    }
    if instance(vm, on: request.to) != nil {
      throw DriverError(
        vm: vm, host: request.to, "the destination already holds a copy of the VM",
        hint: "run reconcile to clean up an earlier migration", kind: .refused)
    }
    let holdsMemory = request.kind == .live
    if holdsMemory { try requireFreeMemory(config.memory.bytes, on: request.to, vm: vm) }
    let token = "sim-\(state.nextReservation)"
    state.nextReservation += 1
    state.reservations[token] = SimulatedReservation(
      request: request, memory: holdsMemory ? config.memory.bytes : 0, vcpus: holdsMemory ? config.vcpus : 0)
    if request.kind == .live {
      addInstance(
        vm,
        SimulatedInstance(host: request.to, state: .incoming, owner: false, checksum: ""))
    }
    try persist()
    await wait(timings.reserveSeconds)
    if state.downHosts.contains(request.to) {
      state.reservations[token] = nil
      persistQuietly()
      throw DriverError(
        vm: vm, host: request.to, "the destination lost power while the container started", kind: .unreachable)
    }
    persistQuietly()  // the reservation was saved before the wait; this only updates the time
    return Reservation(request: request, token: token)
  }

  public func release(_ reservation: Reservation) async throws {
    let reservation = resolved(reservation)
    applyDue()
    let request = reservation.request
    abortedTransfers.remove(reservation.token)
    guard let record = state.reservations[reservation.token] else {
      // Nothing reserved (any more): remove a container left without one, if any.
      if !state.downHosts.contains(request.to), let copy = instance(request.vm, on: request.to), !copy.owner,
        copy.state != .stopped
      {
        removeInstance(request.vm, on: request.to)
        try persist()
      }
      return
    }
    if record.phase == .committed {
      throw DriverError(
        vm: request.vm, host: request.to, "the reservation was committed; the VM now lives on the destination",
        kind: .refused)
    }
    if !state.downHosts.contains(request.to) {
      await wait(timings.releaseSeconds)
      if let copy = instance(request.vm, on: request.to), !copy.owner { removeInstance(request.vm, on: request.to) }
    }
    state.reservations[reservation.token] = nil
    try persist()
  }

  public func transfer(
    _ reservation: Reservation, settings: LiveSettings, onEvent: @Sendable (TransferEvent) async -> Void
  ) async throws -> TransferResult {
    let reservation = resolved(reservation)
    applyDue()
    let request = reservation.request
    let vm = request.vm
    guard let record = state.reservations[reservation.token], record.phase == .reserved else {
      throw DriverError(
        vm: vm, host: request.to, "no reservation ready to receive (token \(reservation.token))", kind: .refused)
    }
    try requireReachable(request.from, vm: vm)
    try requireReachable(request.to, vm: vm)
    let config = try requireVM(vm)
    guard let source = instance(vm, on: request.from), source.owner, source.state == .running else {
      throw DriverError(vm: vm, host: request.from, "the VM is not running on its source", kind: .refused)
    }
    try checkAborted(reservation)  // told to stop before it began
    state.reservations[reservation.token]?.phase = .transferring
    try persist()
    let flow = openFlow(from: request.from, to: request.to, cap: settings.bandwidthCap)
    activeTransfers[reservation.token] = flow
    var flowOpen = true
    do {
      let result = try await runPreCopy(
        reservation, vm: config, flow: flow, settings: settings, sourceChecksum: source.checksum, onEvent: onEvent)
      finishTransfer(reservation.token, flow: flow)
      flowOpen = false
      if switchover == .atomic { try await switchOver(reservation) }
      try persist()
      return result
    } catch {
      if flowOpen { finishTransfer(reservation.token, flow: flow) }
      if let record = state.reservations[reservation.token], record.phase != .committed {
        state.reservations[reservation.token]?.phase = .reserved
      }
      resumeSourceIfPaused(vm, on: request.from)
      resetIncoming(vm, on: request.to)
      persistQuietly()
      throw error
    }
  }

  /// The end of an atomic transfer, as libvirt's own confirmation: with the destination holding
  /// the whole state (saved so: the backend's job still runs), the destination confirms the copy,
  /// takes the VM (paused) and the source is removed.
  private func switchOver(_ reservation: Reservation) async throws {
    let request = reservation.request
    let vm = request.vm
    switchingOver.insert(reservation.token)
    defer { switchingOver.remove(reservation.token) }
    try persist()
    if let kind = takeStageFault(vm, .commitment) {
      throw injected(vm, host: request.to, "the destination did not confirm the copy", kind: kind)
    }
    try requireConsistentCopy(request)
    await wait(timings.commitSeconds)
    try checkAborted(reservation)
    try requireReachable(request.from, vm: vm)
    try requireReachable(request.to, vm: vm)
    giveToDestination(request, token: reservation.token)
    removeInstance(vm, on: request.from)
  }

  /// Throws unless the destination holds a copy equal to the source's.
  private func requireConsistentCopy(_ request: MigrationRequest) throws {
    let vm = request.vm
    guard let source = instance(vm, on: request.from), source.owner,
      let copy = instance(vm, on: request.to)
    else { throw DriverError(vm: vm, host: request.to, "the destination holds no copy", kind: .refused) }
    if copy.checksum != source.checksum {
      throw DriverError(
        vm: vm, host: request.to, "the destination state does not match the source (checksum mismatch)",
        hint: "the VM stays on \(request.from); retry the migration")
    }
  }

  /// Commitment: the destination's copy becomes the VM; the source's is given up.
  private func giveToDestination(_ request: MigrationRequest, token: String) {
    updateInstance(request.vm, on: request.from) { $0.owner = false }
    updateInstance(request.vm, on: request.to) { $0.owner = true }
    updateVM(request.vm) { $0.host = request.to }
    state.reservations[token]?.phase = .committed
  }

  private func finishTransfer(_ token: String, flow: Int) {
    activeTransfers[token] = nil
    closeFlow(flow)
  }

  private func runPreCopy(
    _ reservation: Reservation, vm: VM, flow: Int, settings: LiveSettings, sourceChecksum: String,
    onEvent: @Sendable (TransferEvent) async -> Void
  ) async throws -> TransferResult {
    let request = reservation.request
    var run = PreCopyRun(preCopyParameters(vm, settings: settings))
    while true {
      try checkAborted(reservation)
      let share = Bandwidth(bytesPerSecond: links[flow]?.rate ?? 0)
      switch run.next(bandwidth: share) {
      case .round(let index, let bytes, _, let throttle):
        let seconds = try await send(flow, bytes: bytes, vm: vm.name, token: reservation.token)
        run.completeRound(seconds: seconds)
        if let kind = takeStageFault(vm.name, .preCopy) {
          throw injected(vm.name, host: request.to, "the migration stream broke during pre-copy", kind: kind)
        }
        let dirtied = run.lastDirtied
        await onEvent(
          .round(
            PreCopyRound(
              index: index, bytesSent: bytes, bytesDirtied: dirtied, remaining: run.remaining, seconds: seconds,
              bandwidthBytesPerSecond: seconds > 0 ? bytes / seconds : share.bytesPerSecond, throttle: throttle)))
      case .stopAndCopy(let bytes, let throttle):
        await onEvent(.stopAndCopyStarting(remaining: bytes))
        try checkAborted(reservation)
        try requireReachable(request.from, vm: vm.name)
        updateInstance(vm.name, on: request.from) { $0.state = .paused }
        try persist()
        if let kind = takeStageFault(vm.name, .stopAndCopy) {
          throw injected(vm.name, host: request.to, "the migration stream broke during stop-and-copy", kind: kind)
        }
        // The guest is stopped: the last pages go without the bandwidth cap.
        liftCap(flow)
        let copy = try await send(flow, bytes: bytes, vm: vm.name, token: reservation.token)
        await wait(run.parameters.pauseOverhead.seconds)
        let downtime = copy + run.parameters.pauseOverhead.seconds
        try checkAborted(reservation)
        let corrupt = takeChecksumFault(vm.name)
        updateInstance(vm.name, on: request.to) {
          $0.state = .paused
          $0.checksum = corrupt ? "corrupt-" + sourceChecksum : sourceChecksum
        }
        state.reservations[reservation.token]?.phase = .transferred
        return TransferResult(
          rounds: run.rounds, bytesSent: run.bytesSent, totalSeconds: run.elapsed + downtime,
          downtimeMs: downtime * 1000,
          throttle: throttle)
      case .abort(let reason):
        throw DriverError(
          vm: vm.name, reason, hint: "allow throttling, raise the downtime limit, or move it cold")
      }
    }
  }

  private func checkAborted(_ reservation: Reservation) throws {
    if abortedTransfers.contains(reservation.token) {
      throw DriverError(vm: reservation.request.vm, "transfer cancelled; the VM stays on its source")
    }
  }

  private func resumeSourceIfPaused(_ vm: String, on host: String) {
    guard let source = instance(vm, on: host), source.owner, source.state == .paused,
      !state.downHosts.contains(host)
    else { return }
    updateInstance(vm, on: host) { $0.state = .running }
  }

  private func resetIncoming(_ vm: String, on host: String) {
    guard let copy = instance(vm, on: host), !copy.owner, copy.state != .stopped else { return }
    updateInstance(vm, on: host) {
      $0.state = .incoming
      $0.checksum = ""
    }
  }

  public func resumeOnSource(_ reservation: Reservation) async throws {
    let reservation = resolved(reservation)
    applyDue()
    let request = reservation.request
    if let record = state.reservations[reservation.token], record.phase == .committed {
      throw DriverError(
        vm: request.vm, host: request.from, "the migration was committed; the source copy was given up",
        hint: "activate the VM on \(request.to)", kind: .refused)
    }
    if switchingOver.contains(reservation.token) {
      // The atomic transfer is confirming: it sees this before it commits, and rolls back itself.
      abortedTransfers.insert(reservation.token)
      return
    }
    // Stop the transfer, whether it runs now or has not begun yet.
    if state.reservations[reservation.token] != nil { abortedTransfers.insert(reservation.token) }
    if let flow = activeTransfers[reservation.token] { clock.interrupt(key: flow) }
    try requireReachable(request.from, vm: request.vm)
    if let source = instance(request.vm, on: request.from), source.owner, source.state == .paused {
      updateInstance(request.vm, on: request.from) { $0.state = .running }
      await wait(timings.resumeSeconds)
    }
    if state.reservations[reservation.token] != nil, activeTransfers[reservation.token] == nil {
      state.reservations[reservation.token]?.phase = .reserved
      resetIncoming(request.vm, on: request.to)
    }
    try persist()
  }

  public func commit(_ reservation: Reservation) async throws {
    let reservation = resolved(reservation)
    applyDue()
    let request = reservation.request
    let vm = request.vm
    if switchover == .atomic {
      throw DriverError(
        vm: vm, host: request.to, "this driver switches over atomically: its transfer commits, commit is never called",
        kind: .refused)
    }
    if let kind = takeStageFault(vm, .commitment) {
      throw injected(vm, host: request.to, "the destination did not confirm the copy", kind: kind)
    }
    let record = state.reservations[reservation.token]
    if record?.phase == .committed { return }  // committed already
    if record == nil, instance(vm, on: request.to)?.owner == true { return }  // committed and activated
    guard record?.phase == .transferred else {
      throw DriverError(vm: vm, host: request.to, "nothing to commit: the transfer did not complete", kind: .refused)
    }
    try requireReachable(request.to, vm: vm)
    try requireConsistentCopy(request)
    await wait(timings.commitSeconds)
    try requireReachable(request.to, vm: vm)
    giveToDestination(request, token: reservation.token)
    try persist()
  }

  public func activate(_ reservation: Reservation) async throws {
    let reservation = resolved(reservation)
    applyDue()
    let request = reservation.request
    let vm = request.vm
    if let kind = takeStageFault(vm, .activation) {
      throw injected(vm, host: request.to, "the VM did not resume on the destination", kind: kind)
    }
    guard let record = state.reservations[reservation.token], record.phase == .committed else {
      // Already activated (the reservation is gone and the VM runs on the destination)?
      if let copy = instance(vm, on: request.to), copy.owner, copy.state == .running { return }
      throw DriverError(
        vm: vm, host: request.to, "nothing to activate: the migration was not committed", kind: .refused)
    }
    try requireReachable(request.to, vm: vm)
    guard let copy = instance(vm, on: request.to), copy.owner, copy.state != .stopped else {
      throw DriverError(vm: vm, host: request.to, "the destination no longer holds the VM's state", kind: .refused)
    }
    updateInstance(vm, on: request.to) { $0.state = .running }
    updateVM(vm) { $0.state = .running }
    try persist()
    await wait(timings.activateSeconds)
    if !state.downHosts.contains(request.from) { removeInstance(vm, on: request.from) }
    state.reservations[reservation.token] = nil
    try persist()
  }
}
