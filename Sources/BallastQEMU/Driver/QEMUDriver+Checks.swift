import BallastEngine
import BallastModel
import Foundation

extension QEMUDriver {
  /// Everything that stops `vm` from migrating live to `destination` now, checked on the lab's
  /// real state (its definitions, processes and mounts); empty when it can.
  ///
  /// Host state: not its own host. State: it runs. Storage: every disk image, followed through
  /// the source's mount, must lie inside a datastore directory the destination mounts. CPU: the
  /// features of the VM's `-cpu` model must be a subset of the destination host's (``CPUCheck``).
  /// Capacity: the destination's declared memory minus what its running VMs and reservations
  /// hold must fit the VM.
  func liveMigrationProblemsSteps(vm: String, to destination: String) async throws -> [NotPossible] {
    guard let source = lab.hostDefining(vm) else {
      throw DriverError(vm: vm, "the VM is not defined on any lab host", hint: "run `ballast lab up`")
    }
    let host = try requireHost(destination, vm: vm)
    let definition = try self.definition(vm, on: source)
    var problems: [NotPossible] = []
    if source == destination {
      problems.append(
        NotPossible(check: .hostState, reason: HostStateCheck.sentence(.sameHost, vm: vm, host: destination)))
    }
    if let instance = lab.instance(vm: vm, on: source) {
      let state = try await observedRunState(of: instance)
      if state != .running {
        problems.append(NotPossible(check: .state, reason: "VM \(vm) is \(state) on \(source), not running"))
      }
    } else {
      problems.append(NotPossible(check: .state, reason: "VM \(vm) is not running on \(source)"))
    }
    problems += storageProblems(definition, from: source, to: destination)
    let missing = CPUCheck.missingFeatures(vmModel: definition.cpuModel, on: host)
    if !missing.isEmpty {
      problems.append(
        NotPossible(
          check: .cpuCompatibility,
          reason: CPUCheck.sentence(
            vm: vm, vmModel: definition.cpuModel, host: destination, hostModel: host.cpuModel, missing: missing)))
    }
    let free = host.memory.bytes - memoryHeld(on: destination)
    if free < definition.memoryBytes {
      problems.append(
        NotPossible(
          check: .capacity,
          reason: "host \(destination) has \(ByteCount(max(free, 0))) free of \(host.memory), "
            + "VM \(vm) needs \(ByteCount(definition.memoryBytes))"))
    }
    return problems
  }

  /// Disks of `definition` that `destination` cannot reach where they are.
  func storageProblems(
    _ definition: VMDefinition, from source: String, to destination: String
  )
    -> [NotPossible]
  {
    definition.disks.compactMap { disk in
      if reaches(disk, from: source, on: destination) { return nil }
      let path = lab.diskPath(disk, on: source)
      let real = realPath(path) ?? path
      return NotPossible(
        check: .storage,
        reason: "disk \(disk.file) of VM \(definition.name) is on datastore \(disk.datastore) (\(real)), "
          + "which host \(destination) does not mount")
    }
  }

  /// Whether `host` reaches `disk` (as `source` sees it) through one of its own mounts.
  func reaches(_ disk: DiskImage, from source: String, on host: String) -> Bool {
    let path = lab.diskPath(disk, on: source)
    let real = realPath(path) ?? path
    return mountedDirectories(of: host).contains { real.hasPrefix($0 + "/") }
  }

  /// Real directories of the datastores `host` mounts.
  func mountedDirectories(of host: String) -> [String] {
    let directory = layout.mountsDirectory(host)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.compactMap { realPath(directory + "/" + $0) }
  }

  /// Memory held on `host` by running VMs and live reservations.
  func memoryHeld(on host: String) -> Int64 {
    layout.vmNames(on: host).reduce(0) { total, vm in
      guard lab.instance(vm: vm, on: host) != nil,
        let definition = try? VMDefinition.load(layout.definitionFile(vm, on: host))
      else { return total }
      return total + definition.memoryBytes
    }
  }

  func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }
}
