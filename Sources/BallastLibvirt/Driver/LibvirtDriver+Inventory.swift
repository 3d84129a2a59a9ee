import BallastEngine
import BallastModel
import Foundation

extension LibvirtDriver {
  /// The cluster as the daemons report it now. A host whose daemon cannot be reached is left
  /// out (logged): nothing moves onto or off a host Ballast cannot see.
  public func inventory() async throws -> Cluster {
    var readings = try await readHosts()
    let fresh = readings.flatMap { reading in
      reading.domains.filter { $0.isRunning && cpuSamples["\($0.name)@\(reading.host)"] == nil }
    }
    if !fresh.isEmpty, options.firstSampleWindow > 0 {
      record(readings)
      try await Task.sleep(for: .seconds(options.firstSampleWindow))
      readings = try await readHosts()
    }
    await expandUnknownHostCPUs(readings)
    var cluster = assemble(readings)
    cluster.vms = await withExpandedCPUs(cluster.vms)
    record(readings)
    return cluster
  }

  /// Reads every reachable host, all at once.
  func readHosts() async throws -> [HostReading] {
    var readings: [HostReading] = []
    var unreachable: [String] = []
    await withTaskGroup(of: (String, Result<HostReading, any Error>).self) { group in
      for host in hostNames {
        let cpu = hostCPUs[host]
        let known = descriptions[host] ?? [:]
        group.addTask {
          do {
            let reading = try await self.onHost(host, "reading the host") { connection in
              try HostReading.read(host: host, connection: connection, cpu: cpu, known: known)
            }
            return (host, .success(reading))
          } catch {
            return (host, .failure(error))
          }
        }
      }
      for await (host, result) in group {
        switch result {
        case .success(let reading): readings.append(reading)
        case .failure(let error):
          unreachable.append(host)
          logger.warning("host left out of the inventory: \(error)", metadata: ["host": "\(host)"])
        }
      }
    }
    if readings.isEmpty, !hostNames.isEmpty {
      throw DriverError(
        "no libvirt daemon of cluster \(declared.name) answers (\(unreachable.sorted().joined(separator: ", ")))",
        hint: "check the hosts' uri: entries and that libvirtd runs there")
    }
    let order = Dictionary(uniqueKeysWithValues: hostNames.enumerated().map { ($1, $0) })
    return readings.sorted { (order[$0.host] ?? 0) < (order[$1.host] ?? 0) }
  }

  /// Keeps what the next inventory compares with: CPU times, descriptions, host CPUs.
  func record(_ readings: [HostReading]) {
    for reading in readings {
      hostCPUs[reading.host] = reading.cpu
      var known: [String: (state: UInt32, description: DomainDescription)] = [:]
      for domain in reading.domains {
        known[domain.name] = (domain.state, domain.description)
        let key = "\(domain.name)@\(reading.host)"
        if domain.isRunning, let time = domain.number("cpu.time") {
          cpuSamples[key] = (time, reading.at)
        } else {
          cpuSamples[key] = nil
        }
      }
      descriptions[reading.host] = known
    }
  }

  /// Builds the snapshot from the readings and the file's overrides.
  func assemble(_ readings: [HostReading]) -> Cluster {
    var datastores = declared.datastores
    var hosts: [BallastModel.Host] = []
    var vms: [VM] = []
    var seenVMs: Set<String> = []
    let declaredShared = Set(declared.datastores.filter(\.shared).map(\.name))
    for reading in readings {
      let entry = settings.host(named: reading.host)
      var mounted: [String] = []
      for pool in reading.pools {
        let name = datastoreName(pool: pool.name, host: reading.host, declaredShared: declaredShared)
        mounted.append(name)
        if !datastores.contains(where: { $0.name == name }) {
          datastores.append(
            Datastore(
              name: name, shared: pool.isNetworkStorage || declaredShared.contains(pool.name), path: pool.targetPath))
        }
      }
      for store in declared.datastores where store.path != nil && !mounted.contains(store.name) {
        mounted.append(store.name)  // a declared folder (an NFS mount outside libvirt) every host sees
      }
      hosts.append(
        Host(
          name: reading.host, cores: entry?.cores ?? max(reading.cpus, 1),
          memory: entry?.memory ?? ByteCount(max(reading.memoryBytes, 0)), cpuModel: hostModel(reading),
          cpuFeatures: hostFeatures(reading),
          migrationBandwidth: entry?.migrationBandwidth ?? settings.migrationBandwidth,
          datastores: mounted, state: maintenance.contains(reading.host) ? .maintenance : .active))
      for domain in reading.domains where !domain.isIncoming && !seenVMs.contains(domain.name) {
        seenVMs.insert(domain.name)
        vms.append(vm(domain, on: reading, datastores: datastores, declaredShared: declaredShared))
      }
    }
    return Cluster(
      version: declared.version, name: declared.name, driver: .libvirt, labRoot: declared.labRoot,
      datastores: datastores, hosts: hosts, vms: vms, rules: declared.rules)
  }

  /// A pool's datastore: its own name when shared (every host defines it alike), else
  /// `pool@host`, since every host may have a local `default` pool.
  nonisolated func datastoreName(pool: String, host: String, declaredShared: Set<String>) -> String {
    declaredShared.contains(pool) ? pool : "\(pool)@\(host)"
  }

  /// The host's CPU generation: declared, else libvirt's model mapped onto Ballast's table.
  func hostModel(_ reading: HostReading) -> String {
    if let declared = settings.host(named: reading.host)?.cpuModel { return declared }
    let reported = reading.cpu.cpuModel ?? "qemu64"
    return CPUModels.tableModel(for: reported) ?? reported
  }

  /// Declared extra flags; when the model is declared, nothing else (the declaration is the
  /// generation the lab or operator wants); else libvirt's flags beyond the model, or all of
  /// them (expanded) for a model Ballast's table does not know.
  func hostFeatures(_ reading: HostReading) -> [String] {
    let entry = settings.host(named: reading.host)
    if entry?.cpuModel != nil { return entry?.cpuFeatures ?? [] }
    let reported = expandedFeatures["host:\(reading.host)"] ?? reading.cpu.cpuFeatures
    return (entry?.cpuFeatures ?? []) + reported
  }

  /// Expands, once per host, the CPU of hosts whose model the table does not know.
  func expandUnknownHostCPUs(_ readings: [HostReading]) async {
    for reading in readings where settings.host(named: reading.host)?.cpuModel == nil {
      let key = "host:\(reading.host)"
      guard expandedFeatures[key] == nil, CPUModels.tableModel(for: reading.cpu.cpuModel ?? "qemu64") == nil,
        let xml = reading.cpu.cpuXML
      else { continue }
      let features = try? await onHost(reading.host, "expanding the host's CPU model") { connection in
        try CPUFeatureList.parse(connection.expandCPU(xml))
      }
      expandedFeatures[key] = features
    }
  }

  /// One VM from its domain on `reading`'s host.
  func vm(
    _ domain: DomainReading, on reading: HostReading, datastores: [Datastore], declaredShared: Set<String>
  )
    -> VM
  {
    let description = domain.description
    let entry = settings.vm(named: domain.name)
    let vcpus = max(Int(domain.number("vcpu.current") ?? Double(description.vcpus)), 1)
    var usage = Usage.idle
    var samples: [LoadSample] = []
    if domain.isRunning {
      usage = Usage(cpu: cpuUsage(domain, on: reading, vcpus: vcpus), memory: memoryUsage(domain))
      samples = [LoadSample(at: Date().timeIntervalSince1970, cpu: usage.cpu, memory: usage.memory)]
    }
    let state: PowerState = domain.isRunning ? .running : domain.isOff ? .stopped : .suspended
    let disks = description.disks.map { source in
      disk(source, domain: domain, on: reading, declaredShared: declaredShared)
    }
    let memory = ByteCount(max(description.memoryBytes, 0))
    return VM(
      name: domain.name, host: reading.host, state: state, vcpus: vcpus, memory: memory,
      cpuModel: entry?.cpuModel ?? vmModel(description, on: reading), disks: disks, usage: usage, samples: samples,
      dirtyRate: entry?.dirtyRate ?? .zero, workingSet: min(entry?.workingSet ?? .zero, memory),
      labels: entry?.labels ?? [:])
  }

  /// The VM's CPU model: the named model (mapped onto the table where possible); for
  /// host-model and host-passthrough guests, the host's.
  func vmModel(_ description: DomainDescription, on reading: HostReading) -> String {
    switch description.cpuMode {
    case .custom:
      guard let model = description.cpuModel else { return "qemu64" }
      return CPUModels.tableModel(for: model) ?? model
    case .hostModel, .hostPassthrough, .maximum:
      return hostModel(reading)
    }
  }

  /// CPU busy fraction since the last reading: `cpu.time` delta over elapsed time × vCPUs.
  func cpuUsage(_ domain: DomainReading, on reading: HostReading, vcpus: Int) -> Double {
    guard let time = domain.number("cpu.time"), let previous = cpuSamples["\(domain.name)@\(reading.host)"]
    else { return 0 }
    let elapsed = reading.at - previous.at
    guard elapsed > 0.01 else { return 0 }
    let busy = (time - previous.cpuTime) / 1e9 / elapsed / Double(vcpus)
    return busy.isFinite ? min(max(busy, 0), 1) : 0
  }

  /// Memory in use: what the guest reports through its balloon driver when it does, else the
  /// QEMU process's resident memory against the balloon's size.
  func memoryUsage(_ domain: DomainReading) -> Double {
    var fraction = 0.0
    if let available = domain.number("balloon.available"), let unused = domain.number("balloon.unused"),
      available > 0
    {
      fraction = (available - unused) / available
    } else if let rss = domain.number("balloon.rss"), let current = domain.number("balloon.current"), current > 0 {
      fraction = rss / current
    }
    return fraction.isFinite ? min(max(fraction, 0), 1) : 0
  }

  /// A disk with the datastore it lives in: its pool (by name or by folder), a declared
  /// datastore whose folder holds it, network storage, or else the host's own files.
  func disk(
    _ source: DomainDescription.DiskSource, domain: DomainReading, on reading: HostReading,
    declaredShared: Set<String>
  ) -> Disk {
    let capacity = domain.blockCapacity(path: source.path) ?? source.capacity.map(Double.init) ?? 0
    let size = ByteCount(Int64(min(max(capacity, 0), Double(Int64.max / 2))))
    if let pool = source.pool {
      return Disk(
        datastore: datastoreName(pool: pool, host: reading.host, declaredShared: declaredShared), size: size,
        path: source.path)
    }
    if let path = source.path {
      if let store = declared.datastores.first(where: { $0.path.map { Self.contains(folder: $0, path: path) } ?? false }
      ) {
        return Disk(datastore: store.name, size: size, path: path)
      }
      if let pool = reading.pools.first(where: { $0.targetPath.map { Self.contains(folder: $0, path: path) } ?? false })
      {
        return Disk(
          datastore: datastoreName(pool: pool.name, host: reading.host, declaredShared: declaredShared), size: size,
          path: path)
      }
      return Disk(datastore: "files@\(reading.host)", size: size, path: path)
    }
    return Disk(datastore: source.networkProtocol ?? "network", size: size, path: nil)
  }

  /// Whether `path` lies inside `folder`.
  static func contains(folder: String, path: String) -> Bool {
    let base = folder.hasSuffix("/") ? folder : folder + "/"
    return path.hasPrefix(base)
  }

  /// VMs whose CPU model Ballast's table does not know get libvirt's expanded feature list, so
  /// the CPU check goes by features.
  func withExpandedCPUs(_ vms: [VM]) async -> [VM] {
    var result = vms
    for i in result.indices where CPUModels.features[result[i].cpuModel] == nil {
      let key = "\(result[i].host)/\(result[i].cpuModel)"
      if let known = expandedFeatures[key] {
        result[i].cpuFeatures = known
        continue
      }
      let model = result[i].cpuModel
      let xml = "<cpu mode='custom' match='exact'><model fallback='forbid'>\(SafeName.xmlEscaped(model))</model></cpu>"
      let features = try? await onHost(result[i].host, vm: result[i].name, "expanding CPU model \(model)") {
        connection in
        try CPUFeatureList.parse(connection.expandCPU(xml))
      }
      if let features {
        expandedFeatures[key] = features
        result[i].cpuFeatures = features
      }
    }
    return result
  }
}
