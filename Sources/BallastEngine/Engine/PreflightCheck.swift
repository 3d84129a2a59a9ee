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
  /// Name of the check that said no.
  public var check: String
  /// Why, in an operator's words.
  public var reason: String

  public init(check: String, reason: String) {
    self.check = check
    self.reason = reason
  }

  public var description: String { "\(check): \(reason)" }
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
}

/// Stage 0: the checks a move must pass against the cluster as it is now, not as planned.
public enum PreflightCheck {
  /// Checks `move` against `cluster` (the driver's inventory), where the VM really is
  /// (`placements`), the policy's limits and the capacity `held` by other moves in flight.
  public static func check(
    _ move: PlannedMove, cluster: Cluster, placements: [VMPlacement], policy: Policy, held: [CapacityHold]
  ) -> Result<PreflightResult, NotPossible> {
    guard let vm = cluster.vm(named: move.vm) else {
      return .failure(NotPossible(check: "vm", reason: "VM \(move.vm) is not in the inventory"))
    }
    if move.from == move.to {
      return .failure(NotPossible(check: "destination", reason: "source and destination are both \(move.to)"))
    }
    guard let source = placements.first(where: { $0.host == move.from }) else {
      let elsewhere = placements.map(\.host).joined(separator: ", ")
      return .failure(
        NotPossible(
          check: "location",
          reason: "VM \(vm.name) is not on \(move.from) any more"
            + (elsewhere.isEmpty ? "" : " (it is on \(elsewhere))") + "; the plan is out of date"))
    }
    if let other = placements.first(where: { $0.host != move.from }) {
      return .failure(
        NotPossible(
          check: "location",
          reason: "VM \(vm.name) also has a \(other.state.rawValue) copy on \(other.host): an earlier migration "
            + "did not finish; run `ballast reconcile`"))
    }
    let running = source.state == .running
    switch (move.kind, source.state) {
    case (.live, .running), (.cold, .stopped):
      break
    case (.cold, .running) where move.requiresShutdown:
      break
    case (.cold, .running):
      return .failure(
        NotPossible(
          check: "state",
          reason: "VM \(vm.name) is running; the plan moves it cold without shutting it down (re-plan it)"))
    case (.live, _):
      return .failure(
        NotPossible(
          check: "state",
          reason: "VM \(vm.name) is \(source.state.rawValue) on \(move.from); a live migration needs it running "
            + "(re-plan: it would move cold)"))
    default:
      return .failure(
        NotPossible(check: "state", reason: "VM \(vm.name) is \(source.state.rawValue) on \(move.from): it cannot move")
      )
    }
    guard let destination = cluster.host(named: move.to) else {
      return .failure(
        NotPossible(check: "destination", reason: "host \(move.to) is not in the inventory (unknown or unreachable)"))
    }
    if destination.state != .active {
      return .failure(
        NotPossible(check: "maintenance", reason: "host \(move.to) is in maintenance: nothing moves onto it"))
    }
    // CPU features matter to a live move only: a cold move restarts the guest (DESIGN.md's table).
    let missing =
      move.kind == .live
      ? CPUModels.missingFeatures(
        vmModel: vm.cpuModel, hostModel: destination.cpuModel, hostExtra: destination.cpuFeatures) : []
    if !missing.isEmpty {
      return .failure(
        NotPossible(
          check: "cpu",
          reason: "host \(move.to) (\(destination.cpuModel)) lacks CPU features VM \(vm.name) (\(vm.cpuModel)) "
            + "needs: \(missing.prefix(6).joined(separator: ", "))\(missing.count > 6 ? ", …" : "")"))
    }
    let shared = Dictionary(cluster.datastores.map { ($0.name, $0.shared) }, uniquingKeysWith: { a, _ in a })
    let unreachable = vm.disks.filter { !(shared[$0.datastore] ?? false) || !destination.mounts($0.datastore) }
    if move.kind == .live, let disk = unreachable.first {
      let why = (shared[disk.datastore] ?? false) ? "is not mounted on \(move.to)" : "is local to \(move.from)"
      return .failure(
        NotPossible(
          check: "storage",
          reason: "datastore \(disk.datastore) of VM \(vm.name) \(why): a live migration needs shared storage "
            + "(move it cold to copy the disks)"))
    }
    if !unreachable.isEmpty, destination.datastores.isEmpty {
      return .failure(
        NotPossible(check: "storage", reason: "host \(move.to) mounts no datastore to copy the disks of \(vm.name) to"))
    }
    let willRun = running
    let hold = CapacityHold(host: move.to, memory: willRun ? vm.memory.bytes : 0, vcpus: willRun ? vm.vcpus : 0)
    if willRun, let reason = capacityShortfall(vm: vm, on: destination, cluster: cluster, policy: policy, held: held) {
      return .failure(NotPossible(check: "capacity", reason: reason))
    }
    return .success(
      PreflightResult(vm: vm, disksToCopy: move.kind == .cold ? unreachable : [], running: running, hold: hold))
  }

  private static func capacityShortfall(
    vm: VM, on host: Host, cluster: Cluster, policy: Policy, held: [CapacityHold]
  ) -> String? {
    var memory = vm.memory.bytes
    var vcpus = vm.vcpus
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
    let memoryLimit = host.memory.double * policy.overcommit.memory
    let vcpuLimit = Double(host.cores) * policy.overcommit.cpu
    if Double(memory) > memoryLimit {
      return "host \(host.name) would have \(ByteCount(memory)) of memory allocated (with moves in flight), over "
        + "its limit of \(ByteCount(Int64(memoryLimit)))"
    }
    if Double(vcpus) > vcpuLimit {
      return "host \(host.name) would have \(vcpus) vCPUs allocated (with moves in flight), over its limit of "
        + "\(Int(vcpuLimit)) (\(host.cores) cores × \(policy.overcommit.cpu))"
    }
    return nil
  }
}
