import BallastModel

/// Capacity the engine holds on destinations for moves in flight that the inventory does not
/// show yet.
public struct CapacityHold: Sendable, Hashable {
  public var host: String
  public var memory: Int64
  public var vcpus: Int

  public init(host: String, memory: Int64, vcpus: Int) {
    self.host = host
    self.memory = memory
    self.vcpus = vcpus
  }
}

/// Why a move cannot run now: not an error, a rejected move.
public struct NotPossible: Error, Sendable, Hashable, CustomStringConvertible {
  /// The check that said no.
  public var check: MoveCheck
  /// Why, in an operator's words.
  public var reason: String

  public init(check: MoveCheck, reason: String) {
    self.check = check
    self.reason = reason
  }

  public var description: String { "\(check.name): \(reason)" }
}

/// What stage 0 found: the move can run, and how.
public struct PreflightResult: Sendable, Hashable {
  /// The VM as the inventory shows it now.
  public var vm: VM
  /// Disks the destination cannot reach where they are; a cold move copies them.
  public var disksToCopy: [Disk]
  /// Whether the VM runs now (a cold move shuts it down and starts it again).
  public var running: Bool
  /// Capacity the move takes on its destination while in flight (nothing for a VM that stays off).
  public var hold: CapacityHold
  /// The source and destination hosts as the inventory shows them.
  public var source: Host?
  public var destination: Host?
  /// Whether the hosts enforce a bandwidth cap with QEMU's windowed rate limiter (QEMU and
  /// libvirt hosts; the simulated ones send at a steady rate).
  public var rateLimiter = false
}

/// Stage 0: the checks a move must pass against the cluster as it is now, not as planned.
///
/// The placement checks are the planner's own (``HostStateCheck``, ``CPUCheck``, ``StorageCheck``,
/// ``CapacityCheck``), run on the driver's inventory with the capacity other moves in flight
/// hold; before them, where the VM really is and whether its power state allows the move.
public enum PreflightCheck {
  /// Checks `move` against `cluster` (the driver's inventory), where the VM really is
  /// (`placements`), the policy's limits and the capacity `held` by other moves in flight.
  public static func check(
    _ move: PlannedMove, cluster: Cluster, placements: [VMPlacement], policy: Policy, held: [CapacityHold]
  ) -> Result<PreflightResult, NotPossible> {
    guard let vm = cluster.vm(named: move.vm) else {
      return .failure(NotPossible(check: .vm, reason: "VM \(move.vm) is not in the inventory"))
    }
    if move.from == move.to {
      return .failure(
        NotPossible(check: .hostState, reason: HostStateCheck.sentence(.sameHost, vm: vm.name, host: move.to)))
    }
    guard let source = placements.first(where: { $0.host == move.from }) else {
      let elsewhere = placements.map(\.host).joined(separator: ", ")
      return .failure(
        NotPossible(
          check: .location,
          reason: "VM \(vm.name) is not on \(move.from) any more"
            + (elsewhere.isEmpty ? "" : " (it is on \(elsewhere))") + "; the plan is out of date"))
    }
    if let other = placements.first(where: { $0.host != move.from }) {
      return .failure(
        NotPossible(
          check: .location,
          reason: "VM \(vm.name) also has a \(other.state.rawValue) copy on \(other.host): an earlier migration "
            + "did not finish; run `ballast reconcile`"))
    }
    if let notPossible = stateProblem(move, vm: vm, state: source.state) { return .failure(notPossible) }
    let running = source.state == .running
    guard let destination = cluster.host(named: move.to) else {
      return .failure(
        NotPossible(check: .hostState, reason: HostStateCheck.sentence(.unknown, vm: vm.name, host: move.to)))
    }
    if let refusal = HostStateCheck.refusal(destinationActive: destination.state == .active, isVMsHost: false) {
      return .failure(
        NotPossible(check: .hostState, reason: HostStateCheck.sentence(refusal, vm: vm.name, host: move.to)))
    }
    // CPU features matter to a live move only: a cold move restarts the guest.
    let missing = move.kind == .live ? CPUCheck.missingFeatures(vm, on: destination) : []
    if !missing.isEmpty {
      return .failure(
        NotPossible(
          check: .cpuCompatibility,
          reason: CPUCheck.sentence(
            vm: vm.name, vmModel: vm.cpuModel, host: move.to, hostModel: destination.cpuModel, missing: missing)
            + "; a live migration needs them (re-plan: it would move cold)"))
    }
    let unreachable = StorageCheck.disksToCopy(vm, to: destination, datastores: cluster.datastores)
    if move.kind == .live, !unreachable.isEmpty {
      return .failure(
        NotPossible(
          check: .storage,
          reason: StorageCheck.sentence(disks: unreachable, vm: vm.name, host: move.to)
            + "; a live migration needs shared storage (move it cold to copy the disks)"))
    }
    if !unreachable.isEmpty, destination.datastores.isEmpty {
      return .failure(
        NotPossible(check: .storage, reason: StorageCheck.nowhereToCopySentence(vm: vm.name, host: move.to)))
    }
    if let shortfall = capacityShortfall(
      vm: vm, running: running, on: destination, cluster: cluster, policy: policy, held: held)
    {
      return .failure(
        NotPossible(
          check: .capacity,
          reason: CapacityCheck.sentence(shortfall, vm: vm, host: destination, overcommit: policy.overcommit)
            + (held.contains { $0.host == destination.name } ? " (counting the moves in flight)" : "")))
    }
    let hold = CapacityHold(host: move.to, memory: running ? vm.memory.bytes : 0, vcpus: running ? vm.vcpus : 0)
    return .success(
      PreflightResult(
        vm: vm, disksToCopy: move.kind == .cold ? unreachable : [], running: running, hold: hold,
        source: cluster.host(named: move.from), destination: cluster.host(named: move.to),
        rateLimiter: cluster.driver.capsByWindows))
  }

  /// The VM's power state on its source does not allow the move's kind.
  private static func stateProblem(_ move: PlannedMove, vm: VM, state: VMPlacementState) -> NotPossible? {
    switch (move.kind, state) {
    case (.live, .running), (.cold, .stopped):
      return nil
    case (.cold, .running) where move.requiresShutdown:
      return nil
    case (.cold, .running):
      return NotPossible(
        check: .state,
        reason: "VM \(vm.name) is running; the plan moves it cold without shutting it down (re-plan it)")
    case (.live, _):
      return NotPossible(
        check: .state,
        reason: "VM \(vm.name) is \(state.rawValue) on \(move.from); a live migration needs it running "
          + "(re-plan: it would move cold)")
    default:
      return NotPossible(check: .state, reason: "VM \(vm.name) is \(state.rawValue) on \(move.from): it cannot move")
    }
  }

  /// What does not fit of `vm` on `host`: running VMs there other than `vm`, and the capacity
  /// other moves in flight hold there, count as allocated.
  private static func capacityShortfall(
    vm: VM, running: Bool, on host: Host, cluster: Cluster, policy: Policy, held: [CapacityHold]
  ) -> CapacityCheck.Shortfall? {
    var memory: Int64 = 0
    var vcpus = 0
    cluster.vms.withUnsafeBufferPointer { vms in  // no copy of each VM: this runs for every move
      for i in vms.indices where vms[i].host == host.name && vms[i].state.isRunning && vms[i].name != vm.name {
        memory += vms[i].memory.bytes
        vcpus += vms[i].vcpus
      }
    }
    for hold in held where hold.host == host.name {
      memory += hold.memory
      vcpus += hold.vcpus
    }
    return CapacityCheck.shortfall(
      memory: vm.memory.double, vcpus: vm.vcpus, running: running, hostMemory: host.memory.double,
      hostCores: Double(host.cores), allocatedMemory: Double(memory), allocatedVCPUs: vcpus,
      overcommit: policy.overcommit)
  }
}
