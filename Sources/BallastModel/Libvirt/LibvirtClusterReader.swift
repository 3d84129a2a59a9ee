/// Reading a `driver: libvirt` cluster file: hosts with their URIs, the `libvirt:` section, and
/// per-VM overrides instead of a VM list.
extension ClusterReader {
  func readLibvirt(
    _ top: YAMLObject, version: Int?, name: String?, labRoot: String?, datastores: [Datastore]
  ) -> Cluster? {
    let section = top.optional("libvirt")?.object(["mode", "tls", "unsafe", "migrationBandwidth"])
    let mode = section?.optional("mode").map { $0.choice(LibvirtSettings.MigrationMode.self) } ?? .direct
    let tls = section?.optional("tls")?.bool() ?? false
    let unsafe = section?.optional("unsafe")?.bool() ?? false
    let bandwidth = section?.optional("migrationBandwidth")?.bandwidth() ?? .gbit(10)
    let hosts = top.required("hosts", "a list of hosts with their libvirt uri")?.list()?.compactMap(libvirtHost)
    let vms = top.optional("vms")?.list()?.compactMap(vmOverride) ?? []
    let rules = top.optional("rules")?.list()?.compactMap(PolicyReader.rule) ?? []
    guard let name, let hosts, let mode else { return nil }
    let settings = LibvirtSettings(
      mode: mode, tls: tls, unsafe: unsafe, migrationBandwidth: bandwidth, hosts: hosts, vms: vms)
    return Cluster(
      version: version ?? 1, name: name, driver: .libvirt, labRoot: labRoot, datastores: datastores, hosts: [],
      vms: [], rules: rules, libvirt: settings)
  }

  private func libvirtHost(_ value: YAMLValue) -> LibvirtHost? {
    guard
      let object = value.object([
        "name", "uri", "migrationURI", "cpuModel", "cpuFeatures", "migrationBandwidth", "cores", "memory",
      ])
    else { return nil }
    let name = object.required("name", "the host's name")?.nonEmptyString()
    let uri = object.optional("uri")?.nonEmptyString()
    let migrationURI = object.optional("migrationURI")?.nonEmptyString()
    let cpuModel = object.optional("cpuModel")?.nonEmptyString()
    let features = object.optional("cpuFeatures")?.stringList() ?? []
    let bandwidth = object.optional("migrationBandwidth")?.bandwidth()
    let cores = object.optional("cores")?.int(atLeast: 1)
    let memory = object.optional("memory")?.bytes()
    guard let name else { return nil }
    return LibvirtHost(
      name: name, uri: uri, migrationURI: migrationURI, cpuModel: cpuModel, cpuFeatures: features,
      migrationBandwidth: bandwidth, cores: cores, memory: memory)
  }

  private func vmOverride(_ value: YAMLValue) -> VMOverride? {
    guard
      let object = value.object([
        "name", "cpuModel", "dirtyRate", "workingSet", "labels", "host", "state", "vcpus", "memory", "disks",
        "usage",
      ])
    else { return nil }
    let name = object.required("name", "the VM's name, as libvirt knows it")?.nonEmptyString()
    let cpuModel = object.optional("cpuModel")?.nonEmptyString()
    let dirtyRate = object.optional("dirtyRate")?.bandwidth(positive: false)
    let workingSet = object.optional("workingSet")?.bytes(positive: false)
    let labels = object.optional("labels")?.stringMap() ?? [:]
    let host = object.optional("host")?.nonEmptyString()
    let state = object.optional("state").map { $0.choice(PowerState.self) } ?? nil
    let vcpus = object.optional("vcpus")?.int(atLeast: 1)
    let memory = object.optional("memory")?.bytes()
    let disks = object.optional("disks")?.list()?.compactMap(disk) ?? []
    let usage = object.optional("usage").map(usage) ?? nil
    guard let name else { return nil }
    return VMOverride(
      name: name, cpuModel: cpuModel, dirtyRate: dirtyRate, workingSet: workingSet, labels: labels, host: host,
      state: state, vcpus: vcpus, memory: memory, disks: disks, usage: usage)
  }
}
