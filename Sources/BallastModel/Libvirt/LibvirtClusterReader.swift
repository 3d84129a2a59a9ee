/// Reading a `driver: libvirt` cluster file: hosts with their URIs, the `libvirt:` section, and
/// per-VM overrides instead of a VM list. Quantities are range-checked like a simulated file's
/// (``Limits``), names like every name (``SafeName/problem(with:)``).
extension ClusterReader {
  func readLibvirt(
    _ top: YAMLObject, version: Int?, name: String?, labRoot: String?, datastores: [Datastore],
    origins: ClusterValidator.Origins
  ) -> Result? {
    var origins = origins
    let section = top.optional("libvirt")?.object(["mode", "tls", "unsafe", "migrationBandwidth"])
    let mode = section?.optional("mode").map { $0.choice(LibvirtSettings.MigrationMode.self) } ?? .direct
    let tls = section?.optional("tls").map { $0.bool() } ?? false
    let unsafe = section?.optional("unsafe").map { $0.bool() } ?? false
    let bandwidth =
      section?.optional("migrationBandwidth").map { $0.bandwidth(in: Limits.linkBandwidth) } ?? .gbit(10)
    let hosts = entries(
      top.required("hosts", "a list of hosts with their libvirt uri"), libvirtHost, into: &origins.hosts)
    let vms = entries(top.optional("vms"), vmOverride, into: &origins.vms)
    let rules = entries(top.optional("rules"), PolicyReader.rule, into: &origins.rules)
    let settings = LibvirtSettings(
      mode: mode ?? .direct, tls: tls ?? false, unsafe: unsafe ?? false, migrationBandwidth: bandwidth ?? .gbit(10),
      hosts: hosts, vms: vms)
    let cluster = Cluster(
      version: version ?? ClusterFile.currentVersion, name: name ?? "", driver: .libvirt, labRoot: labRoot,
      datastores: datastores, hosts: [], vms: [], rules: rules, libvirt: settings)
    return Result(cluster: cluster, origins: origins)
  }

  private func libvirtHost(_ value: YAMLValue) -> LibvirtHost? {
    guard
      let object = value.object([
        "name", "uri", "migrationURI", "cpuModel", "cpuFeatures", "migrationBandwidth", "cores", "memory",
      ])
    else { return nil }
    let name = object.required("name", "the host's name")?.name()
    let uri = object.optional("uri").map { $0.nonEmptyString() }
    let migrationURI = object.optional("migrationURI").map { $0.nonEmptyString() }
    let cpuModel = object.optional("cpuModel").map { $0.name() }
    let features = object.optional("cpuFeatures").map { $0.nameList() } ?? []
    let bandwidth = object.optional("migrationBandwidth").map { $0.bandwidth(in: Limits.linkBandwidth) }
    let cores = object.optional("cores").map { $0.int(in: Limits.hostCores) }
    let memory = object.optional("memory").map { $0.bytes(in: Limits.hostMemory) }
    guard let name, uri != .some(nil), migrationURI != .some(nil), cpuModel != .some(nil), let features,
      bandwidth != .some(nil), cores != .some(nil), memory != .some(nil)
    else { return nil }
    return LibvirtHost(
      name: name, uri: uri ?? nil, migrationURI: migrationURI ?? nil, cpuModel: cpuModel ?? nil,
      cpuFeatures: features, migrationBandwidth: bandwidth ?? nil, cores: cores ?? nil, memory: memory ?? nil)
  }

  private func vmOverride(_ value: YAMLValue) -> VMOverride? {
    guard
      let object = value.object([
        "name", "cpuModel", "dirtyRate", "workingSet", "labels", "host", "state", "vcpus", "memory", "disks",
        "usage",
      ])
    else { return nil }
    let name = object.required("name", "the VM's name, as libvirt knows it")?.name()
    let cpuModel = object.optional("cpuModel").map { $0.name() }
    let dirtyRate = object.optional("dirtyRate").map { $0.bandwidth(in: Limits.dirtyRate) }
    let workingSet = object.optional("workingSet").map { $0.bytes(in: Limits.workingSet) }
    let labels = object.optional("labels").map { $0.stringMap() } ?? [:]
    let host = object.optional("host").map { $0.name() }
    let state = object.optional("state").map { $0.choice(PowerState.self) }
    let vcpus = object.optional("vcpus").map { $0.int(in: Limits.vcpus) }
    let memory = object.optional("memory").map { $0.bytes(in: Limits.vmMemory) }
    let disks = whole(object.optional("disks"), disk)
    let usage = object.optional("usage").map(self.usage)
    guard let name, cpuModel != .some(nil), dirtyRate != .some(nil), workingSet != .some(nil), let labels,
      host != .some(nil), state != .some(nil), vcpus != .some(nil), memory != .some(nil), let disks,
      usage != .some(nil)
    else { return nil }
    return VMOverride(
      name: name, cpuModel: cpuModel ?? nil, dirtyRate: dirtyRate ?? nil, workingSet: workingSet ?? nil,
      labels: labels, host: host ?? nil, state: state ?? nil, vcpus: vcpus ?? nil, memory: memory ?? nil,
      disks: disks, usage: usage ?? nil)
  }
}
