/// Turns a cluster document into a ``Cluster``, reporting every type and format problem.
///
/// It reads as much as it can: an entry with a broken value is left out, and what the
/// cross-entry checks need to avoid follow-on errors (the names of the entries left out, the
/// position of each entry kept) comes with the result, so ``ClusterValidator`` reports the
/// file's other errors in the same run.
struct ClusterReader {
  let diagnostics: YAMLDiagnostics

  /// What was read: the entries that are whole, and where they and the broken ones sit.
  struct Result {
    var cluster: Cluster
    var origins: ClusterValidator.Origins
  }

  func read(_ root: YAMLValue) -> Result? {
    guard
      let top = root.object([
        "version", "name", "driver", "labRoot", "datastores", "hosts", "vms", "rules", "libvirt",
      ])
    else { return nil }
    var origins = ClusterValidator.Origins()
    let version = top.required("version", "the format version, 1")?.int(atLeast: 1)
    if let version, version != ClusterFile.currentVersion {
      top.fields["version"]?.fail(
        "this Ballast reads version \(ClusterFile.currentVersion) cluster files, got version \(version)")
    }
    let name = top.required("name", "the cluster's name")?.name()
    let driver = top.optional("driver").map { $0.choice(DriverKind.self) } ?? .simulated
    let labRoot = top.optional("labRoot")?.filePath()
    let datastores = entries(top.optional("datastores"), datastore, into: &origins.datastores)
    if driver == .libvirt {
      return readLibvirt(
        top, version: version, name: name, labRoot: labRoot, datastores: datastores, origins: origins)
    }
    if let section = top.optional("libvirt") {
      section.fail("a libvirt: section belongs to a driver: libvirt cluster")
    }
    let hosts = entries(top.required("hosts", "a list of hosts"), host, into: &origins.hosts)
    let vms = entries(top.optional("vms"), vm, into: &origins.vms)
    let rules = entries(top.optional("rules"), PolicyReader.rule, into: &origins.rules)
    let cluster = Cluster(
      version: version ?? ClusterFile.currentVersion, name: name ?? "", driver: driver ?? .simulated,
      labRoot: labRoot, datastores: datastores, hosts: hosts, vms: vms, rules: rules)
    return Result(cluster: cluster, origins: origins)
  }

  /// The entries of a list that read whole, recording each one's position in the file and
  /// the names of those left out.
  func entries<T>(
    _ value: YAMLValue?, _ read: (YAMLValue) -> T?, into origins: inout ClusterValidator.Origins.Entries
  ) -> [T] {
    guard let items = value?.list() else {
      if value != nil {
        origins.incomplete = true
        origins.allNamesKnown = false
      }
      return []
    }
    var result: [T] = []
    for (i, item) in items.enumerated() {
      if let entry = read(item) {
        result.append(entry)
        origins.positions.append(i)
      } else {
        origins.incomplete = true
        if let name = item.node.mapping?["name"]?.scalar?.string {
          origins.brokenNames.insert(name)
        } else {
          origins.allNamesKnown = false
        }
      }
    }
    return result
  }

  private func datastore(_ value: YAMLValue) -> Datastore? {
    guard let object = value.object(["name", "shared", "path"]) else { return nil }
    let name = object.required("name", "the datastore's name")?.name()
    let shared = object.optional("shared").map { $0.bool() } ?? false
    let pathField = object.optional("path")
    let path = pathField?.filePath()
    guard let name, let shared, pathField == nil || path != nil else { return nil }
    return Datastore(name: name, shared: shared, path: path)
  }

  private func host(_ value: YAMLValue) -> Host? {
    guard
      let object = value.object([
        "name", "cores", "memory", "cpuModel", "cpuFeatures", "migrationBandwidth", "datastores", "state",
      ])
    else { return nil }
    let name = object.required("name", "the host's name")?.name()
    let cores = object.required("cores", "physical CPU cores, e.g. 32")?.int(in: Limits.hostCores)
    let memory = object.required("memory", "physical memory, e.g. 256GiB")?.bytes(in: Limits.hostMemory)
    let cpuModel = object.required("cpuModel", "a QEMU CPU model, e.g. Cascadelake-Server")?.name()
    let features = object.optional("cpuFeatures").map { $0.nameList() } ?? []
    let bandwidth = object.required("migrationBandwidth", "the migration link, e.g. 10Gbit/s")?.bandwidth(
      in: Limits.linkBandwidth)
    let datastores = object.optional("datastores").map { $0.nameList() } ?? []
    let state = object.optional("state").map { $0.choice(HostState.self) } ?? .active
    guard let name, let cores, let memory, let cpuModel, let features, let bandwidth, let datastores, let state
    else { return nil }
    return Host(
      name: name, cores: cores, memory: memory, cpuModel: cpuModel, cpuFeatures: features,
      migrationBandwidth: bandwidth, datastores: datastores, state: state)
  }

  private func vm(_ value: YAMLValue) -> VM? {
    guard
      let object = value.object([
        "name", "host", "state", "vcpus", "memory", "cpuModel", "cpuFeatures", "disks", "usage", "samples", "trace",
        "dirtyRate", "workingSet", "labels",
      ])
    else { return nil }
    let name = object.required("name", "the VM's name")?.name()
    let host = object.required("host", "the host it runs on")?.name()
    let state = object.optional("state").map { $0.choice(PowerState.self) } ?? .running
    let vcpus = object.required("vcpus", "virtual CPUs, e.g. 4")?.int(in: Limits.vcpus)
    let memory = object.required("memory", "allocated memory, e.g. 8GiB")?.bytes(in: Limits.vmMemory)
    let cpuModel = object.optional("cpuModel").map { $0.name() } ?? "qemu64"
    let cpuFeatures = object.optional("cpuFeatures").map { $0.nameList() } ?? []
    let disks = whole(object.optional("disks"), disk)
    let usage = object.optional("usage").map(self.usage) ?? .idle
    let samples = whole(object.optional("samples"), sample)
    let traceField = object.optional("trace")
    let trace = traceField?.filePath()
    let dirtyRate = object.optional("dirtyRate").map { $0.bandwidth(in: Limits.dirtyRate) } ?? .zero
    let workingSet = object.optional("workingSet").map { $0.bytes(in: Limits.workingSet) } ?? .zero
    let labels = object.optional("labels").map { $0.stringMap() } ?? [:]
    guard let name, let host, let state, let vcpus, let memory, let cpuModel, let cpuFeatures, let disks, let usage,
      let samples,
      traceField == nil || trace != nil, let dirtyRate, let workingSet, let labels
    else { return nil }
    return VM(
      name: name, host: host, state: state, vcpus: vcpus, memory: memory, cpuModel: cpuModel,
      cpuFeatures: cpuFeatures, disks: disks,
      usage: usage, samples: samples, trace: trace, dirtyRate: dirtyRate, workingSet: workingSet, labels: labels)
  }

  /// Every entry of an optional list, or `nil` when any of them is broken (reported).
  func whole<T>(_ value: YAMLValue?, _ read: (YAMLValue) -> T?) -> [T]? {
    guard let value else { return [] }
    guard let items = value.list() else { return nil }
    let entries = items.compactMap(read)
    return entries.count == items.count ? entries : nil
  }

  func disk(_ value: YAMLValue) -> Disk? {
    guard let object = value.object(["datastore", "size", "path"]) else { return nil }
    let datastore = object.required("datastore", "the datastore holding the disk")?.name()
    let size = object.required("size", "the disk size, e.g. 40GiB")?.bytes(in: Limits.diskSize)
    let pathField = object.optional("path")
    let path = pathField?.filePath()
    guard let datastore, let size, pathField == nil || path != nil else { return nil }
    return Disk(datastore: datastore, size: size, path: path)
  }

  func usage(_ value: YAMLValue) -> Usage? {
    guard let object = value.object(["cpu", "memory"]) else { return nil }
    let cpu = object.optional("cpu").map { $0.double(in: 0...1, what: "a fraction of the vCPUs in use") } ?? 0
    let memory = object.optional("memory").map { $0.double(in: 0...1, what: "a fraction of the memory in use") } ?? 0
    guard let cpu, let memory else { return nil }
    return Usage(cpu: cpu, memory: memory)
  }

  private func sample(_ value: YAMLValue) -> LoadSample? {
    guard let object = value.object(["at", "cpu", "memory"]) else { return nil }
    let at = object.required("at", "the sample's time: seconds, or a time like 5m")?.secondsOrTimeSpan(
      in: Limits.sampleTime)
    let cpu = object.required("cpu", "a fraction of the vCPUs in use")?.double(in: 0...1, what: "a fraction")
    let memory = object.optional("memory").map { $0.double(in: 0...1, what: "a fraction") } ?? 0
    guard let at, let cpu, let memory else { return nil }
    return LoadSample(at: at.seconds, cpu: cpu, memory: memory)
  }
}

extension YAMLValue {
  /// A plain number of seconds, or a time with a unit (`90`, `90s`, `5m`), within `range`.
  func secondsOrTimeSpan(in range: ClosedRange<TimeSpan>) -> TimeSpan? {
    if case .scalar(let scalar) = node, let seconds = Double(scalar.string) {
      guard seconds.isFinite, range.contains(TimeSpan(seconds: seconds)) else {
        fail("expected a time \(range.phrase) (seconds, or a time like 5m), got \(SafeName.quoted(scalar.string))")
        return nil
      }
      return TimeSpan(seconds: seconds)
    }
    return timeSpan(in: range)
  }
}
