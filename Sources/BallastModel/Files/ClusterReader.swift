/// Turns a cluster document into a ``Cluster``, reporting every type and format problem.
struct ClusterReader {
  let diagnostics: YAMLDiagnostics

  func read(_ root: YAMLValue) -> Cluster? {
    guard
      let top = root.object([
        "version", "name", "driver", "labRoot", "datastores", "hosts", "vms", "rules", "libvirt",
      ])
    else { return nil }
    let version = top.required("version", "the format version, 1")?.int(atLeast: 1)
    if let version, version != ClusterFile.currentVersion {
      top.fields["version"]?.fail(
        "this Ballast reads version \(ClusterFile.currentVersion) cluster files, got version \(version)")
    }
    let name = top.required("name", "the cluster's name")?.nonEmptyString()
    let driver = top.optional("driver").map { $0.choice(DriverKind.self) } ?? .simulated
    let labRoot = top.optional("labRoot")?.string()
    let datastores = top.optional("datastores")?.list()?.compactMap(datastore) ?? []
    if driver == .libvirt {
      return readLibvirt(
        top, version: version, name: name, labRoot: labRoot, datastores: datastores)
    }
    if let section = top.optional("libvirt") {
      section.fail("a libvirt: section belongs to a driver: libvirt cluster")
    }
    let hosts = top.required("hosts", "a list of hosts")?.list()?.compactMap(host)
    let vms = top.optional("vms")?.list()?.compactMap(vm) ?? []
    let rules = top.optional("rules")?.list()?.compactMap(PolicyReader.rule) ?? []
    guard let name, let hosts, let driver else { return nil }
    return Cluster(
      version: version ?? 1, name: name, driver: driver, labRoot: labRoot, datastores: datastores,
      hosts: hosts, vms: vms, rules: rules)
  }

  private func datastore(_ value: YAMLValue) -> Datastore? {
    guard let object = value.object(["name", "shared", "path"]) else { return nil }
    let name = object.required("name", "the datastore's name")?.nonEmptyString()
    let shared = object.optional("shared")?.bool() ?? false
    let path = object.optional("path")?.string()
    guard let name else { return nil }
    return Datastore(name: name, shared: shared, path: path)
  }

  private func host(_ value: YAMLValue) -> Host? {
    guard
      let object = value.object([
        "name", "cores", "memory", "cpuModel", "cpuFeatures", "migrationBandwidth", "datastores", "state",
      ])
    else { return nil }
    let name = object.required("name", "the host's name")?.nonEmptyString()
    let cores = object.required("cores", "physical CPU cores, e.g. 32")?.int(atLeast: 1)
    let memory = object.required("memory", "physical memory, e.g. 256GiB")?.bytes()
    let cpuModel = object.required("cpuModel", "a QEMU CPU model, e.g. Cascadelake-Server")?.nonEmptyString()
    let features = object.optional("cpuFeatures")?.stringList() ?? []
    let bandwidth = object.required("migrationBandwidth", "the migration link, e.g. 10Gbit/s")?.bandwidth()
    let datastores = object.optional("datastores")?.stringList() ?? []
    let state = object.optional("state").map { $0.choice(HostState.self) } ?? .active
    guard let name, let cores, let memory, let cpuModel, let bandwidth, let state else { return nil }
    return Host(
      name: name, cores: cores, memory: memory, cpuModel: cpuModel, cpuFeatures: features,
      migrationBandwidth: bandwidth, datastores: datastores, state: state)
  }

  private func vm(_ value: YAMLValue) -> VM? {
    guard
      let object = value.object([
        "name", "host", "state", "vcpus", "memory", "cpuModel", "cpuFeatures", "disks", "usage", "samples", "trace",
        "dirtyRate", "workingSet", "shutdownTime", "bootTime", "labels",
      ])
    else { return nil }
    let name = object.required("name", "the VM's name")?.nonEmptyString()
    let host = object.required("host", "the host it runs on")?.nonEmptyString()
    let state = object.optional("state").map { $0.choice(PowerState.self) } ?? .running
    let vcpus = object.required("vcpus", "virtual CPUs, e.g. 4")?.int(atLeast: 1)
    let memory = object.required("memory", "allocated memory, e.g. 8GiB")?.bytes()
    let cpuModel = object.optional("cpuModel").map { $0.nonEmptyString() } ?? "qemu64"
    let cpuFeatures = object.optional("cpuFeatures")?.stringList() ?? []
    let disks = object.optional("disks")?.list()?.compactMap(disk) ?? []
    let usage = object.optional("usage").map(self.usage) ?? .idle
    let samples = object.optional("samples")?.list()?.compactMap(sample) ?? []
    let trace = object.optional("trace")?.nonEmptyString()
    let dirtyRate = object.optional("dirtyRate")?.bandwidth(positive: false) ?? .zero
    let workingSet = object.optional("workingSet")?.bytes(positive: false) ?? .zero
    let shutdownTime = object.optional("shutdownTime")?.timeSpan()
    let bootTime = object.optional("bootTime")?.timeSpan()
    let labels = object.optional("labels")?.stringMap() ?? [:]
    guard let name, let host, let state, let vcpus, let memory, let cpuModel, let usage else { return nil }
    return VM(
      name: name, host: host, state: state, vcpus: vcpus, memory: memory, cpuModel: cpuModel,
      cpuFeatures: cpuFeatures, disks: disks,
      usage: usage, samples: samples, trace: trace, dirtyRate: dirtyRate, workingSet: workingSet,
      shutdownTime: shutdownTime, bootTime: bootTime, labels: labels)
  }

  func disk(_ value: YAMLValue) -> Disk? {
    guard let object = value.object(["datastore", "size", "path", "allocated"]) else { return nil }
    let datastore = object.required("datastore", "the datastore holding the disk")?.nonEmptyString()
    let size = object.required("size", "the disk size, e.g. 40GiB")?.bytes()
    let path = object.optional("path")?.string()
    let allocated = object.optional("allocated")?.bytes(positive: false)
    guard let datastore, let size else { return nil }
    if let allocated, allocated > size {
      object.fields["allocated"]?.fail("allocated \(allocated) is larger than the disk's size \(size)")
    }
    return Disk(datastore: datastore, size: size, path: path, allocated: allocated)
  }

  func usage(_ value: YAMLValue) -> Usage? {
    guard let object = value.object(["cpu", "memory"]) else { return nil }
    let cpu = object.optional("cpu")?.double(in: 0...1, what: "a fraction of the vCPUs in use") ?? 0
    let memory = object.optional("memory")?.double(in: 0...1, what: "a fraction of the memory in use") ?? 0
    return Usage(cpu: cpu, memory: memory)
  }

  private func sample(_ value: YAMLValue) -> LoadSample? {
    guard let object = value.object(["at", "cpu", "memory"]) else { return nil }
    let at = object.required("at", "the sample's time: seconds, or a time like 5m")?.secondsOrTimeSpan()
    let cpu = object.required("cpu", "a fraction of the vCPUs in use")?.double(in: 0...1, what: "a fraction")
    let memory = object.optional("memory")?.double(in: 0...1, what: "a fraction") ?? 0
    guard let at, let cpu else { return nil }
    return LoadSample(at: at, cpu: cpu, memory: memory)
  }
}

extension YAMLValue {
  /// A plain number of seconds, or a time with a unit (`90`, `90s`, `5m`).
  func secondsOrTimeSpan() -> Double? {
    if case .scalar(let scalar) = node, let seconds = Double(scalar.string), seconds >= 0 {
      return seconds
    }
    return timeSpan()?.seconds
  }
}
