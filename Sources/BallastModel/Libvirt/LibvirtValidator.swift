import Foundation

/// Checks a `driver: libvirt` file offline: names, URIs, declared models and references. What
/// only the daemons know (the VMs rules name) is checked against the inventory.
enum LibvirtValidator {
  /// URI schemes of libvirt drivers Ballast can move VMs with: QEMU/KVM over any transport,
  /// and libvirt's built-in `test` driver.
  static let drivers: Set<String> = ["qemu", "test"]
  static let transports: Set<String> = ["", "ssh", "libssh", "libssh2", "tls", "tcp", "unix", "ext"]
  static let migrationSchemes: Set<String> = ["tcp", "rdma", "unix"]

  static func check(
    _ settings: LibvirtSettings, cluster: Cluster, sourceMap: SourceMap, origins: ClusterValidator.Origins
  ) -> [FileIssue] {
    var issues: [FileIssue] = []
    func report(_ path: String, _ message: String) { issues.append(sourceMap.issue(path, message)) }
    let datastoreNames = Set(cluster.datastores.map(\.name))
    var hostNames: Set<String> = []
    for (i, host) in settings.hosts.enumerated() {
      let path = "hosts[\(origins.hosts.positions[i])]"
      if !hostNames.insert(host.name).inserted { report("\(path).name", "duplicate host name '\(host.name)'") }
      if let uri = host.uri {
        if let problem = uriProblem(uri) { report("\(path).uri", problem) }
      } else if cluster.labRoot == nil {
        report(
          "\(path)", "missing key 'uri' (the host's libvirt URI, e.g. qemu+ssh://root@\(host.name)/system)")
      }
      if let uri = host.migrationURI, let problem = migrationURIProblem(uri) {
        report("\(path).migrationURI", problem)
      }
      if let model = host.cpuModel, CPUModels.features[model] == nil {
        report(
          "\(path).cpuModel",
          "unknown CPU model '\(model)'" + Suggestion.hint(for: model, in: CPUModels.names)
            + "; a declared model must be one of Ballast's (leave it out to use what libvirt reports)")
      }
    }
    var vmNames: Set<String> = []
    for (i, vm) in settings.vms.enumerated() {
      let path = "vms[\(origins.vms.positions[i])]"
      if !vmNames.insert(vm.name).inserted { report("\(path).name", "duplicate VM name '\(vm.name)'") }
      if let host = vm.host, !hostNames.contains(host), !origins.hosts.mayHold(host) {
        report(
          "\(path).host",
          "VM \(vm.name) is on unknown host '\(host)'" + Suggestion.hint(for: host, in: Array(hostNames)))
      }
      if let model = vm.cpuModel, CPUModels.features[model] == nil {
        report(
          "\(path).cpuModel",
          "unknown CPU model '\(model)'" + Suggestion.hint(for: model, in: CPUModels.names)
            + "; a declared model must be one of Ballast's (leave it out to use what libvirt reports)")
      }
      if let workingSet = vm.workingSet, let memory = vm.memory, workingSet > memory {
        report("\(path).workingSet", "working set \(workingSet) is larger than the VM's memory \(memory)")
      }
      for (j, disk) in vm.disks.enumerated()
      where !datastoreNames.contains(disk.datastore) && !origins.datastores.mayHold(disk.datastore) {
        report(
          "\(path).disks[\(j)].datastore",
          "unknown datastore '\(disk.datastore)'" + Suggestion.hint(for: disk.datastore, in: Array(datastoreNames))
            + "; declare it under datastores:")
      }
    }
    return issues
  }

  /// What is wrong with a connection URI, or `nil`.
  static func uriProblem(_ uri: String) -> String? {
    guard let components = URLComponents(string: uri), let scheme = components.scheme else {
      return "'\(uri)' is not a URI; expected e.g. qemu:///system or qemu+ssh://root@kvm-2/system"
    }
    let parts = scheme.split(separator: "+", maxSplits: 1).map(String.init)
    let driver = parts.first ?? ""
    let transport = parts.count > 1 ? parts[1] : ""
    guard drivers.contains(driver) else {
      return "'\(uri)' uses libvirt's \(driver) driver; Ballast moves QEMU/KVM VMs (qemu:// or qemu+ssh:// …)"
    }
    guard transports.contains(transport) else {
      return "'\(uri)' has an unknown transport '\(transport)'; expected one of "
        + transports.filter { !$0.isEmpty }.sorted().joined(separator: ", ")
    }
    if components.password != nil {
      return "'\(components.host ?? uri)…' carries a password; use SSH keys, TLS certificates or polkit instead"
    }
    return nil
  }

  /// What is wrong with a migration URI, or `nil`.
  static func migrationURIProblem(_ uri: String) -> String? {
    guard let components = URLComponents(string: uri), let scheme = components.scheme,
      migrationSchemes.contains(scheme)
    else {
      return "'\(uri)' is not a migration URI; expected e.g. tcp://10.0.0.2 or tcp://10.0.0.2:49152"
    }
    return nil
  }
}

/// The check of one libvirt connection URI, for URIs given on the command line.
public enum LibvirtURICheck {
  /// What is wrong with `uri` as a libvirt connection URI Ballast can use, or `nil`.
  public static func problem(_ uri: String) -> String? { LibvirtValidator.uriProblem(uri) }
}
