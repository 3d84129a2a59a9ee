/// Checks a parsed cluster for problems that span several entries: names, references,
/// storage, CPU models and capacity.
public enum ClusterValidator {
  /// Every problem in `cluster`; empty when it is valid. Allocation limits use `policy`'s
  /// overcommit when given, physical capacity otherwise.
  public static func check(_ cluster: Cluster, sourceMap: SourceMap, policy: Policy? = nil) -> [FileIssue] {
    var issues: [FileIssue] = []
    func report(_ path: String, _ message: String) { issues.append(sourceMap.issue(path, message)) }

    var datastores: [String: Datastore] = [:]
    for (i, store) in cluster.datastores.enumerated() {
      if datastores[store.name] != nil {
        report("datastores[\(i)].name", "duplicate datastore name '\(store.name)'")
      }
      datastores[store.name] = store
    }
    if let libvirt = cluster.libvirt {
      issues += LibvirtValidator.check(libvirt, cluster: cluster, sourceMap: sourceMap)
      issues += PolicyFile.checkRules(cluster.rules, against: cluster, sourceMap: sourceMap)
      return issues
    }
    if cluster.driver == .qemu, cluster.labRoot == nil {
      report("driver", "a qemu cluster needs labRoot: the folder that holds the lab's hosts")
    }

    var hostIndex: [String: Int] = [:]
    var localMounts: [String: String] = [:]
    for (i, host) in cluster.hosts.enumerated() {
      if hostIndex[host.name] != nil { report("hosts[\(i)].name", "duplicate host name '\(host.name)'") }
      hostIndex[host.name] = hostIndex[host.name] ?? i
      if CPUModels.features[host.cpuModel] == nil, host.cpuFeatures.isEmpty {
        report(
          "hosts[\(i)].cpuModel",
          "unknown CPU model '\(host.cpuModel)'" + Suggestion.hint(for: host.cpuModel, in: CPUModels.names)
            + "; known models: \(CPUModels.names.joined(separator: ", "))")
      }
      for (j, name) in host.datastores.enumerated() {
        guard let store = datastores[name] else {
          report(
            "hosts[\(i)].datastores[\(j)]",
            "unknown datastore '\(name)'" + Suggestion.hint(for: name, in: cluster.datastores.map(\.name))
              + "; declare it under datastores:")
          continue
        }
        if !store.shared {
          if let other = localMounts[name] {
            report(
              "hosts[\(i)].datastores[\(j)]",
              "local datastore '\(name)' is already mounted by host \(other); a datastore several hosts mount needs shared: true"
            )
          }
          localMounts[name] = host.name
        }
      }
    }

    var vmNames: Set<String> = []
    var allocatedMemory = Array(repeating: ByteCount.zero, count: cluster.hosts.count)
    for (i, vm) in cluster.vms.enumerated() {
      let path = "vms[\(i)]"
      if !vmNames.insert(vm.name).inserted { report("\(path).name", "duplicate VM name '\(vm.name)'") }
      // A model the table does not know is judged by its features when the file lists them
      // (as `ballast discover` writes libvirt's models).
      if CPUModels.features[vm.cpuModel] == nil, vm.cpuFeatures.isEmpty {
        report(
          "\(path).cpuModel",
          "unknown CPU model '\(vm.cpuModel)'" + Suggestion.hint(for: vm.cpuModel, in: CPUModels.names))
      }
      if vm.workingSet > vm.memory {
        report("\(path).workingSet", "working set \(vm.workingSet) is larger than the VM's memory \(vm.memory)")
      }
      guard let h = hostIndex[vm.host] else {
        report(
          "\(path).host",
          "VM \(vm.name) is on unknown host '\(vm.host)'" + Suggestion.hint(for: vm.host, in: Array(hostIndex.keys)))
        continue
      }
      let host = cluster.hosts[h]
      for (j, disk) in vm.disks.enumerated() {
        if datastores[disk.datastore] == nil {
          report("\(path).disks[\(j)].datastore", "unknown datastore '\(disk.datastore)'")
        } else if !host.mounts(disk.datastore) {
          report(
            "\(path).disks[\(j)].datastore",
            "disk of VM \(vm.name) is on datastore '\(disk.datastore)', which its host \(host.name) does not mount")
        }
      }
      if vm.state.isRunning, CPUModels.features[vm.cpuModel] != nil || !vm.cpuFeatures.isEmpty,
        CPUModels.features[host.cpuModel] != nil || !host.cpuFeatures.isEmpty
      {
        let missing = CPUCheck.missingFeatures(vm, on: host)
        if !missing.isEmpty {
          report(
            "\(path).cpuModel",
            "VM \(vm.name) runs as \(vm.cpuModel) but host \(host.name) (\(host.cpuModel)) lacks "
              + missing.prefix(5).joined(separator: ", ") + (missing.count > 5 ? "…" : ""))
        }
      }
      allocatedMemory[h] += vm.memoryDemand
    }

    issues += PolicyFile.checkRules(cluster.rules, against: cluster, sourceMap: sourceMap)

    let memoryOvercommit = policy?.overcommit.memory ?? 1.0
    for (h, host) in cluster.hosts.enumerated() {
      let limit = host.memory.double * memoryOvercommit
      if allocatedMemory[h].double > limit {
        report(
          "hosts[\(h)].memory",
          "running VMs on \(host.name) are allocated \(allocatedMemory[h]) but it has \(host.memory)"
            + (memoryOvercommit == 1 ? "" : " × \(memoryOvercommit) overcommit")
            + "; move or stop VMs, or raise the host's memory")
      }
    }
    return issues
  }
}
