import BallastModel

/// Virtual time, timed faults and the shared migration links.
extension SimulatedDriver {
  /// Applies every timed change that is due.
  func applyDue() {
    let now = clock.elapsed
    var linksChanged = false
    for change in faults.takeDue(now: now) {
      switch change {
      case .usage(let vm, let usage):
        setUsage(usage, of: vm)
      case .bandwidth(let host, let bandwidth):
        state.bandwidthOverrides[host] = bandwidth
        linksChanged = true
      case .kill(let host):
        powerLoss(host)
        linksChanged = true
      }
    }
    if linksChanged {
      rebalance()
      persistQuietly()
    }
  }

  /// When the next timed change is due.
  var nextChangeAt: Double { faults.nextChangeAt }

  /// Waits `seconds` of virtual time, applying timed changes as they fall due.
  func wait(_ seconds: Double) async {
    guard seconds > 0 else { return }
    let target = clock.elapsed + seconds
    while clock.elapsed < target {
      await clock.sleep(until: min(target, nextChangeAt))
      applyDue()
    }
  }

  /// Recomputes link shares and wakes the transfers whose rate changed.
  func rebalance() {
    let changed = links.rebalance(now: clock.elapsed) { bandwidth(of: $0) }
    for id in changed { clock.interrupt(key: id) }
  }

  /// `host` loses power: owners there stop, empty and given-up containers vanish, transfers
  /// through it break.
  func powerLoss(_ host: String) {
    state.downHosts.insert(host)
    for (vm, list) in state.instances {
      var kept: [SimulatedInstance] = []
      for var instance in list {
        guard instance.host == host else {
          kept.append(instance)
          continue
        }
        if instance.owner {
          instance.state = .stopped
          updateVM(vm) { $0.state = .stopped }
          kept.append(instance)
        } else if instance.state == .stopped {
          kept.append(instance)  // a registered copy stays on disk
        }
      }
      state.instances[vm] = kept
      if !kept.contains(where: { $0.host == host }) { residents[host]?.remove(vm) }
    }
    for id in links.flows(through: host) {
      brokenFlows[id] = DriverError(host: host, "host lost power during the transfer", kind: .unreachable)
      clock.interrupt(key: id)
    }
  }

  /// Sends `bytes` on flow `id`, sharing the links; returns the seconds it took.
  func send(_ id: Int, bytes: Double, vm: String, token: String?) async throws -> Double {
    applyDue()
    let start = clock.elapsed
    let planned = links.startSending(id, bytes: bytes, now: start)
    var stalledSince: Double?
    while true {
      guard let flow = links[id] else { throw DriverError(vm: vm, "transfer closed unexpectedly") }
      if let failure = brokenFlows[id] {
        throw DriverError(vm: vm, host: failure.host, failure.message, kind: failure.kind)
      }
      if let token, abortedTransfers.contains(token) {
        throw DriverError(vm: vm, "transfer cancelled; the VM stays on its source")
      }
      let now = clock.elapsed
      if now >= flow.finishAt { break }
      var wake = min(flow.finishAt, nextChangeAt)
      if flow.rate <= 0 {
        let since = stalledSince ?? now
        stalledSince = since
        if now - since >= timings.stallTimeoutSeconds {
          throw DriverError(
            vm: vm,
            "transfer stalled: no bandwidth on the link between \(flow.from) and \(flow.to) for "
              + "\(TimeSpan(seconds: timings.stallTimeoutSeconds))",
            hint: "check the migration network")
        }
        wake = min(wake, since + timings.stallTimeoutSeconds)
      } else {
        stalledSince = nil
      }
      await clock.sleep(until: wake, key: id)
      applyDue()
    }
    let seconds = (links[id]?.rateChanged ?? true) ? clock.elapsed - start : planned
    links.stopSending(id)
    return seconds
  }

  func openFlow(from: String, to: String, cap: Bandwidth?) -> Int {
    let id = links.open(from: from, to: to, cap: cap?.bytesPerSecond)
    rebalance()
    return id
  }

  /// Takes the bandwidth cap off flow `id` (the final copy of a live migration).
  func liftCap(_ id: Int) {
    guard links[id]?.cap != nil else { return }
    links[id]?.cap = nil
    rebalance()
  }

  func closeFlow(_ id: Int) {
    links.close(id)
    brokenFlows[id] = nil
    clock.forget(key: id)
    rebalance()
  }
}
