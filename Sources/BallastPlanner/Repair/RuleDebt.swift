import BallastModel

/// A rule a placement breaks, as the repair search counts it (positions in the cluster and the
/// policy); its debt is the number of moves still needed to end it.
enum RuleDebt: Hashable, Sendable {
  /// VM `vm` is on the wrong side of VM–host rule `rule`.
  case vmHost(rule: Int, vm: Int)
  /// Running VM `vm` is on a host whose CPU lacks features it was started with.
  case cpu(vm: Int)
  /// Members of anti-affinity rule `rule` share hosts.
  case antiAffinity(rule: Int)
  /// Members of affinity rule `rule` are on several hosts.
  case affinity(rule: Int)
  /// Host `host`'s running VMs exceed its allocation limits.
  case capacity(host: Int)
}

extension PlacementState {
  /// Whether VM `v`, where it is now, is on the wrong side of VM–host rule `r`.
  func breaksVMHostRule(_ r: Int, vm v: Int) -> Bool {
    let h = hostOf[v]
    guard h >= 0 else { return false }
    let listed = ruleHosts[r].contains(h)
    switch policy.rules[r].mode {
    case .must, .should: return !listed
    case .mustNot, .shouldNot: return listed
    }
  }

  /// Moves still needed to end anti-affinity rule `r`: on each host, every member but one.
  func antiAffinityDebt(_ r: Int) -> Int { ruleCount[r].values.reduce(0) { $0 + max(0, $1 - 1) } }

  /// Moves still needed to bring affinity rule `r` together: every member not on the host
  /// holding the most of them.
  func affinityDebt(_ r: Int) -> Int {
    let counts = ruleCount[r].values
    return counts.reduce(0, +) - (counts.max() ?? 0)
  }

  /// Moves still needed to bring host `h` within its allocation limits (``CapacityCheck``) with
  /// the VMs `leaving` gone: the fewest of its other running VMs, largest first, whose memory
  /// (and, separately, vCPUs) cover the excess. 0 when it is within them.
  func capacityDebt(_ h: Int, leaving: [Int] = []) -> Int {
    var memory = loads[h].memoryDemand
    var vcpus = loads[h].vcpus
    for v in leaving where vmRunning[v] && hostOf[v] == h {
      memory -= vmMemory[v]
      vcpus -= vmVCPUs[v]
    }
    let excess = CapacityCheck.excess(
      hostMemory: hostMemory[h], hostCores: hostCores[h], allocatedMemory: memory, allocatedVCPUs: vcpus,
      overcommit: policy.overcommit)
    guard excess.isOver else { return 0 }
    let staying = vmsOn[h].filter { vmRunning[$0] && !leaving.contains($0) }
    func cover(_ amount: Double, tolerance: Double, size: (Int) -> Double) -> Int {
      guard amount > 0 else { return 0 }
      var left = amount
      var count = 0
      for piece in staying.map(size).sorted(by: >) {
        left -= piece
        count += 1
        if left <= tolerance { return count }
      }
      return count + 1
    }
    let memoryTolerance = max(1, excess.memoryLimit * CapacityCheck.slack)
    return max(
      cover(excess.memory, tolerance: memoryTolerance) { vmMemory[$0] },
      cover(excess.vcpus, tolerance: CapacityCheck.slack) { Double(vmVCPUs[$0]) })
  }

  /// The soft rules (positions in `policy.rules`) VM `v` would go against on host `d`: a
  /// `should` rule not listing `d`, a `shouldNot` rule listing it, a soft anti-affinity rule
  /// with another member on `d`, a soft affinity rule with members on other active hosts and
  /// none on `d`.
  func softRulesBroken(_ v: Int, on d: Int) -> [Int] {
    var broken: [Int] = []
    for r in rulesOf[v] where !policy.rules[r].isHard {
      switch policy.rules[r].kind {
      case .vmHost:
        if (policy.rules[r].mode == .should) != ruleHosts[r].contains(d) { broken.append(r) }
      case .antiAffinity:
        if othersOfRule(r, on: d, excluding: v) > 0 { broken.append(r) }
      case .affinity:
        var elsewhere = 0
        var here = 0
        for (h, count) in hostsOfRule(r, excluding: v) where isActive(h) {
          if h == d { here += count } else { elsewhere += count }
        }
        if elsewhere > 0 && here == 0 { broken.append(r) }
      }
    }
    return broken
  }

  /// Soft affinity and anti-affinity rules VM `v` would go against on host `d`.
  func softAffinityBroken(_ v: Int, on d: Int) -> Int {
    softRulesBroken(v, on: d).filter { policy.rules[$0].kind != .vmHost }.count
  }

  /// Soft VM–host rules (`should`, `shouldNot`) VM `v` would go against on host `d` (without
  /// building a list: the balance search asks for every candidate).
  func softVMHostBroken(_ v: Int, on d: Int) -> Int {
    var broken = 0
    for r in rulesOf[v] where policy.rules[r].kind == .vmHost && !policy.rules[r].isHard {
      if (policy.rules[r].mode == .should) != ruleHosts[r].contains(d) { broken += 1 }
    }
    return broken
  }

  /// Soft rules moving VM `v` to `d` breaks, less those it stops breaking (negative: it
  /// satisfies more than it breaks).
  func softRulesAdded(movingVM v: Int, to d: Int) -> Int {
    let s = hostOf[v]
    guard s >= 0 else { return 0 }
    return softRulesBroken(v, on: d).count - softRulesBroken(v, on: s).count
  }

  /// Whether the policy has soft rules at all (nothing soft to weigh otherwise).
  var hasSoftRules: Bool { policy.rules.contains { !$0.isHard } }
}
