/// ``MoveCheck/hostState``: a destination must be active and not the VM's own host.
public enum HostStateCheck {
  /// Why a destination takes no VM.
  public enum Refusal: Sendable, Hashable {
    /// The VM is already there.
    case sameHost
    /// It is in maintenance (or otherwise not active).
    case maintenance
    /// It is not in the inventory (unknown or unreachable): stage 0 only.
    case unknown
  }

  /// Why the destination refuses the VM, or `nil` when it takes it.
  @inlinable
  public static func refusal(destinationActive: Bool, isVMsHost: Bool) -> Refusal? {
    if isVMsHost { return .sameHost }
    return destinationActive ? nil : .maintenance
  }

  /// The refusal in an operator's words.
  public static func sentence(_ refusal: Refusal, vm: String, host: String) -> String {
    switch refusal {
    case .sameHost: "\(vm) already runs on \(host)"
    case .maintenance: "\(host) is in maintenance and takes no VMs"
    case .unknown: "host \(host) is not in the inventory (unknown or unreachable)"
    }
  }
}

/// ``MoveCheck/capacity``: allocation limits on the destination under the policy's overcommit.
///
/// A running VM needs its memory and vCPUs free: vCPUs of running VMs ≤ cores × `overcommit.cpu`,
/// their memory ≤ memory × `overcommit.memory`. A stopped or suspended VM takes no capacity while
/// it is off, but it must be able to start there one day: its own size must fit the limits.
public enum CapacityCheck {
  /// What does not fit.
  public enum Shortfall: Sendable, Hashable {
    /// Running: `free` bytes are left under the memory limit.
    case memory(free: Double)
    /// Running: `free` vCPUs are left under `limit`.
    case vcpus(free: Double, limit: Double)
    /// Off: its memory exceeds the host's whole `limit`.
    case memoryToStart(limit: Double)
    /// Off: its vCPUs exceed the host's whole `limit`.
    case vcpusToStart(limit: Double)
  }

  /// Tolerance for rounding in the sums (relative; at least one byte for memory).
  public static let slack = 1e-9

  /// What does not fit, or `nil` when the VM fits.
  ///
  /// - Parameters:
  ///   - allocatedMemory, allocatedVCPUs: what running VMs other than this one (and moves in
  ///     flight towards the host) already take there.
  @inlinable
  public static func shortfall(
    memory: Double, vcpus: Int, running: Bool, hostMemory: Double, hostCores: Double, allocatedMemory: Double,
    allocatedVCPUs: Int, overcommit: Overcommit
  ) -> Shortfall? {
    let vcpuLimit = hostCores * overcommit.cpu
    let memoryLimit = hostMemory * overcommit.memory
    let needed = Double(vcpus)
    guard running else {
      if needed > vcpuLimit + slack { return .vcpusToStart(limit: vcpuLimit) }
      if memory > memoryLimit * (1 + slack) { return .memoryToStart(limit: memoryLimit) }
      return nil
    }
    let freeMemory = memoryLimit - allocatedMemory
    if memory > freeMemory + max(1, memoryLimit * slack) { return .memory(free: freeMemory) }
    let freeVCPUs = vcpuLimit - Double(allocatedVCPUs)
    if needed > freeVCPUs + slack { return .vcpus(free: freeVCPUs, limit: vcpuLimit) }
    return nil
  }

  /// The shortfall of `vm` on `host` in an operator's words.
  public static func sentence(_ shortfall: Shortfall, vm: VM, host: Host, overcommit: Overcommit) -> String {
    let cpuLimit = "\(host.cores) cores under a \(Wording.factor(overcommit.cpu))× CPU overcommit"
    let memoryOvercommit = "\(Wording.factor(overcommit.memory))× memory overcommit"
    switch shortfall {
    case .memory(let free):
      return "needs \(vm.memory), \(host.name) has \(Wording.bytes(free)) free under a \(memoryOvercommit)"
    case .vcpus(let free, let limit):
      return "needs \(vm.vcpus) vCPUs, \(host.name) has \(Wording.number(max(0, free))) free of "
        + "\(Wording.number(limit)) (\(cpuLimit))"
    case .memoryToStart(let limit):
      return "needs \(vm.memory) to start, \(host.name) allows at most \(Wording.bytes(limit)) "
        + "(\(host.memory) under a \(memoryOvercommit))"
    case .vcpusToStart(let limit):
      return "needs \(vm.vcpus) vCPUs to start, \(host.name) allows at most \(Wording.number(limit)) (\(cpuLimit))"
    }
  }
}

/// ``MoveCheck/storage``: a live move needs every disk on shared storage the destination
/// mounts; a cold move copies the others.
public enum StorageCheck {
  /// Whether a host reaches a disk where it is: its datastore is shared and the host mounts it.
  @inlinable
  public static func reaches(datastoreShared: Bool, mounted: Bool) -> Bool { datastoreShared && mounted }

  /// Disks of `vm` that `destination` does not reach where they are (on a local datastore, one
  /// it does not mount, or one `datastores` does not know).
  public static func disksToCopy(_ vm: VM, to destination: Host, datastores: [Datastore]) -> [Disk] {
    vm.disks.filter { disk in
      let shared = datastores.first { $0.name == disk.datastore }?.shared ?? false
      return !reaches(datastoreShared: shared, mounted: destination.mounts(disk.datastore))
    }
  }

  /// Why `vm` cannot move live to `host` because of `disks` (those it does not reach).
  public static func sentence(disks: [Disk], vm: String, host: String) -> String {
    let stores = Array(Set(disks.map(\.datastore))).sorted()
    let verb = disks.count == 1 ? "disk is" : "disks are"
    return "\(vm)'s \(verb) on \(Wording.list(stores)), not on shared storage \(host) mounts"
  }

  /// Why `vm`'s disks cannot be copied to `host` at all.
  public static func nowhereToCopySentence(vm: String, host: String) -> String {
    "host \(host) mounts no datastore to copy the disks of \(vm) to"
  }
}

/// ``MoveCheck/cpuCompatibility``: a live move needs a destination CPU offering every feature
/// the VM was started with (``CPUModels``). A cold move restarts the guest, so it does not.
public enum CPUCheck {
  /// Features a VM started as `vmModel` (with `vmFeatures`, see ``VM/cpuFeatures``) needs that
  /// `host` lacks, sorted (empty: compatible).
  public static func missingFeatures(vmModel: String, vmFeatures: [String] = [], on host: Host) -> [String] {
    CPUModels.missingFeatures(
      vmModel: vmModel, vmFeatures: vmFeatures, hostModel: host.cpuModel, hostExtra: host.cpuFeatures)
  }

  /// Features `vm` needs that `host` lacks, sorted (empty: compatible).
  public static func missingFeatures(_ vm: VM, on host: Host) -> [String] {
    missingFeatures(vmModel: vm.cpuModel, vmFeatures: vm.cpuFeatures, on: host)
  }

  /// Why a VM started as `vmModel` cannot move live to `host`, lacking `missing`.
  public static func sentence(vm: String, vmModel: String, host: String, hostModel: String, missing: [String]) -> String
  {
    "\(vm) was started as \(vmModel) and \(host) (\(hostModel)) lacks \(Wording.list(missing, limit: 4))"
  }
}
