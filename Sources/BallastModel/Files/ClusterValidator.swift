/// Checks a parsed cluster for problems that span several entries: names, references,
/// storage, CPU models and capacity.
public enum ClusterValidator {
  /// Every problem in `cluster`; empty when it is valid. Allocation limits use `policy`'s
  /// overcommit when given, physical capacity otherwise.
  public static func check(_ cluster: Cluster, sourceMap: SourceMap, policy: Policy? = nil) -> [FileIssue] {
    check(cluster, sourceMap: sourceMap, policy: policy, origins: Origins(cluster))
  }

  /// Where the entries of a cluster that was read (perhaps only in part) sit in its file, and
  /// which could not be read: checks skip what would only follow from those.
  struct Origins {
    struct Entries {
      /// The position in the file's list of each entry read, in order.
      var positions: [Int] = []
      /// Names of entries left out because a value of theirs is broken.
      var brokenNames: Set<String> = []
      /// Whether any entry (or the whole list) was left out.
      var incomplete = false

      /// Whether a reference to `name` may be to an entry that was left out.
      func mayHold(_ name: String) -> Bool { incomplete && (brokenNames.contains(name) || !allNamesKnown) }
      /// Every left-out entry had a readable name.
      var allNamesKnown = true
    }

    var datastores = Entries()
    var hosts = Entries()
    var vms = Entries()
    var rules = Entries()

    init() {}

    /// Every entry of `cluster` read, in file order.
    init(_ cluster: Cluster) {
      datastores.positions = Array(cluster.datastores.indices)
      hosts.positions = Array(cluster.hosts.indices)
      vms.positions = Array(cluster.vms.indices)
      rules.positions = Array(cluster.rules.indices)
    }
  }

  static func check(_ cluster: Cluster, sourceMap: SourceMap, policy: Policy?, origins: Origins) -> [FileIssue] {
    var issues: [FileIssue] = []
    func report(_ path: String, _ message: String) { issues.append(sourceMap.issue(path, message)) }
    let storeAt = origins.datastores.positions
    let hostAt = origins.hosts.positions
    let vmAt = origins.vms.positions

    var datastores: [String: Datastore] = [:]
    for (i, store) in cluster.datastores.enumerated() {
      if datastores[store.name] != nil {
        report("datastores[\(storeAt[i])].name", "duplicate datastore name \(SafeName.quoted(store.name))")
      }
      datastores[store.name] = store
    }
    if let libvirt = cluster.libvirt {
      issues += LibvirtValidator.check(libvirt, cluster: cluster, sourceMap: sourceMap, origins: origins)
      issues += PolicyFile.checkRules(
        cluster.rules, positions: origins.rules.positions, against: cluster, sourceMap: sourceMap,
        unreadHosts: origins.hosts)
      return issues
    }
    if cluster.driver == .qemu, cluster.labRoot == nil {
      report("driver", "a qemu cluster needs labRoot: the folder that holds the lab's hosts")
    }
    if cluster.driver == .qemu { issues += fileNameIssues(cluster, sourceMap: sourceMap, origins: origins) }

    var hostIndex: [String: Int] = [:]
    var localMounts: [String: String] = [:]
    for (i, host) in cluster.hosts.enumerated() {
      let path = "hosts[\(hostAt[i])]"
      if hostIndex[host.name] != nil { report("\(path).name", "duplicate host name \(SafeName.quoted(host.name))") }
      hostIndex[host.name] = hostIndex[host.name] ?? i
      if CPUModels.features[host.cpuModel] == nil, host.cpuFeatures.isEmpty {
        report(
          "\(path).cpuModel",
          "unknown CPU model \(SafeName.quoted(host.cpuModel))"
            + Suggestion.hint(for: host.cpuModel, in: CPUModels.names)
            + "; known models: \(CPUModels.names.joined(separator: ", "))")
      }
      for (j, name) in host.datastores.enumerated() {
        guard let store = datastores[name] else {
          if origins.datastores.mayHold(name) { continue }
          report(
            "\(path).datastores[\(j)]",
            "unknown datastore \(SafeName.quoted(name))"
              + Suggestion.hint(for: name, in: cluster.datastores.map(\.name))
              + "; declare it under datastores:")
          continue
        }
        if !store.shared {
          if let other = localMounts[name] {
            report(
              "\(path).datastores[\(j)]",
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
      let path = "vms[\(vmAt[i])]"
      if !vmNames.insert(vm.name).inserted { report("\(path).name", "duplicate VM name \(SafeName.quoted(vm.name))") }
      // A model the table does not know is judged by its features when the file lists them
      // (as `ballast discover` writes libvirt's models).
      if CPUModels.features[vm.cpuModel] == nil, vm.cpuFeatures.isEmpty {
        report(
          "\(path).cpuModel",
          "unknown CPU model \(SafeName.quoted(vm.cpuModel))" + Suggestion.hint(for: vm.cpuModel, in: CPUModels.names))
      }
      if vm.workingSet > vm.memory {
        report("\(path).workingSet", "working set \(vm.workingSet) is larger than the VM's memory \(vm.memory)")
      }
      guard let h = hostIndex[vm.host] else {
        if origins.hosts.mayHold(vm.host) { continue }
        report(
          "\(path).host",
          "VM \(vm.name) is on unknown host \(SafeName.quoted(vm.host))"
            + Suggestion.hint(for: vm.host, in: Array(hostIndex.keys)))
        continue
      }
      let host = cluster.hosts[h]
      for (j, disk) in vm.disks.enumerated() {
        if datastores[disk.datastore] == nil {
          if origins.datastores.mayHold(disk.datastore) { continue }
          report("\(path).disks[\(j)].datastore", "unknown datastore \(SafeName.quoted(disk.datastore))")
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

    issues += PolicyFile.checkRules(
      cluster.rules, positions: origins.rules.positions, against: cluster, sourceMap: sourceMap,
      unreadVMs: origins.vms, unreadHosts: origins.hosts)

    let memoryOvercommit = policy?.overcommit.memory ?? 1.0
    for (h, host) in cluster.hosts.enumerated() {
      let limit = host.memory.double * memoryOvercommit
      if allocatedMemory[h].double > limit {
        report(
          "hosts[\(hostAt[h])].memory",
          "running VMs on \(host.name) are allocated \(allocatedMemory[h]) but it has \(host.memory)"
            + (memoryOvercommit == 1 ? "" : " × \(memoryOvercommit) overcommit")
            + "; move or stop VMs, or raise the host's memory")
      }
    }
    return issues
  }

  /// In a QEMU lab names become file names (see ``SafeName``): each must fit one, and a disk's
  /// `path` is a file name inside its datastore, not a path that could leave it.
  static func fileNameIssues(_ cluster: Cluster, sourceMap: SourceMap, origins: Origins) -> [FileIssue] {
    var issues: [FileIssue] = []
    func check(_ name: String, at path: String) {
      if let problem = SafeName.fileNameProblem(with: name) { issues.append(sourceMap.issue(path, problem)) }
    }
    for (i, store) in cluster.datastores.enumerated() {
      check(store.name, at: "datastores[\(origins.datastores.positions[i])].name")
    }
    for (i, host) in cluster.hosts.enumerated() { check(host.name, at: "hosts[\(origins.hosts.positions[i])].name") }
    for (i, vm) in cluster.vms.enumerated() {
      let path = "vms[\(origins.vms.positions[i])]"
      check(vm.name, at: "\(path).name")
      for (j, disk) in vm.disks.enumerated() {
        guard let file = disk.path else { continue }
        if file.contains("/") || file.hasPrefix(".") || file.utf8.count > SafeName.fileNameLimit {
          issues.append(
            sourceMap.issue(
              "\(path).disks[\(j)].path",
              "in a qemu lab a disk's path is a file name inside its datastore: no '/', not starting with '.', "
                + "at most \(SafeName.fileNameLimit) bytes; got \(SafeName.quoted(file))"))
        }
      }
    }
    return issues
  }
}
