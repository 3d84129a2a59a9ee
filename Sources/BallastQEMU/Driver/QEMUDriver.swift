import BallastDriverSupport
import BallastEngine
import BallastModel
import Foundation
import Logging

/// The ``Driver`` for a QEMU lab: VMs are real `qemu-system-x86_64` processes, migrations
/// are QEMU migrations driven over QMP.
///
/// Live: ``reserve(_:)`` starts the destination paused with `-incoming defer` and sends
/// `migrate-incoming` on a loopback port; ``transfer(_:settings:onEvent:)`` sets the downtime
/// limit, bandwidth cap and auto-converge, runs `migrate` and reports each pre-copy round
/// from `query-migrate`; ``commit(_:)`` checks both sides; ``activate(_:)`` continues the
/// destination, announces it on the network and quits the source. Any failure before
/// commitment leaves the VM running on its source. Cold: definition, logs and local disks
/// are copied and verified by SHA-256 before the source copy is removed.
///
/// Rounds are QEMU's dirty-bitmap syncs; rounds shorter than the poll interval are reported
/// together under the last one's index. With `pause-before-switchover` (the default) a
/// Ballast that dies during pre-copy leaves the source paused at the switchover until
/// `reconcile` resumes it (``resumeOnSource(_:)``).
public actor QEMUDriver: Driver {
  public nonisolated let lab: QEMULab
  public nonisolated let options: QEMUDriverOptions
  let logger: Logger
  var cpuSamples: [String: ProcessInspector.Sample] = [:]
  var measuredDirtyRates: [String: DirtyRateMeasurement] = [:]
  /// When the source stopped for each completed transfer (QEMU's `STOP` event, by reservation
  /// token), until activation resumes the destination.
  var switchoverStops: [String: Double] = [:]
  /// The guest's outage of each activated live move (by reservation token), until asked.
  var outages: [String: Double] = [:]

  public init(lab: QEMULab, options: QEMUDriverOptions = QEMUDriverOptions(), logger: Logger) {
    self.lab = lab
    self.options = options
    self.logger = logger
  }

  var layout: LabLayout { lab.layout }

  /// Stage by stage: `transfer` stops at QEMU's switchover with both sides paused, `commit`
  /// checks both, `activate` continues the destination and quits the source.
  public nonisolated var switchover: SwitchoverStyle { .staged }

  // MARK: Inventory

  func inventorySteps() async throws -> Cluster {
    guard FileManager.default.fileExists(atPath: layout.hostsDirectory) else {
      throw DriverError(
        "the lab at \(layout.root) is not set up", hint: "run `ballast lab up` with the lab's cluster file")
    }
    var cluster = lab.cluster
    for i in cluster.hosts.indices where inMaintenance(cluster.hosts[i].name) {
      cluster.hosts[i].state = .maintenance
    }
    cluster.datastores = cluster.datastores.map { store in
      var store = store
      let localHost = cluster.hosts.first { $0.mounts(store.name) }?.name
      store.path = layout.backingDirectory(of: store, localHost: store.shared ? nil : localHost)
      return store
    }
    var found: [(definition: VMDefinition, host: String)] = []
    var seen: Set<String> = []
    for host in cluster.hosts.map(\.name) {
      for name in layout.vmNames(on: host) where !seen.contains(name) {
        guard let definition = try? VMDefinition.load(layout.definitionFile(name, on: host)),
          definition.role == .active
        else { continue }
        seen.insert(name)
        found.append((definition, host))
      }
    }
    await sampleNewProcesses(found.map { ($0.definition.name, $0.host) })
    var vms: [VM] = []
    for (definition, host) in found {
      vms.append(await observedVM(definition, on: host))
    }
    // Cluster-file order first (stable output), then VMs the file does not list, by name.
    let order = Dictionary(lab.cluster.vms.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    cluster.vms = vms.sorted { a, b in
      let (x, y) = (order[a.name] ?? Int.max, order[b.name] ?? Int.max)
      return x != y ? x < y : a.name < b.name
    }
    return cluster
  }

  /// Takes a first CPU sample of every running VM not sampled before (or whose QEMU process
  /// changed) and waits ``QEMUDriverOptions/firstSampleWindow``, so its CPU is measured over
  /// that window rather than since QEMU started.
  private func sampleNewProcesses(_ vms: [(vm: String, host: String)]) async {
    var sampled = false
    for (vm, host) in vms {
      guard let instance = lab.instance(vm: vm, on: host) else { continue }
      let key = "\(vm)@\(host)"
      guard cpuSamples[key]?.pid != instance.pid, let sample = ProcessInspector.sample(instance.pid) else { continue }
      cpuSamples[key] = sample
      sampled = true
    }
    if sampled, options.firstSampleWindow > 0 {
      try? await Task.sleep(for: .seconds(options.firstSampleWindow))
    }
  }

  /// A VM as the lab shows it now: power state from its process, load from `/proc`.
  func observedVM(_ definition: VMDefinition, on host: String) async -> VM {
    let declared = lab.cluster.vm(named: definition.name)
    var state = PowerState.stopped
    var usage = Usage.idle
    var samples: [LoadSample] = []
    if let instance = lab.instance(vm: definition.name, on: host) {
      let status = try? await observedRunState(of: instance)
      state = status == .running ? .running : .suspended
      if let sample = ProcessInspector.sample(instance.pid) {
        let key = "\(definition.name)@\(host)"
        let cpu = ProcessInspector.cpuFraction(sample, since: cpuSamples[key]) / Double(max(definition.vcpus, 1))
        cpuSamples[key] = sample
        let memory = Double(sample.residentBytes) / Double(max(definition.memoryBytes, 1))
        usage = Usage(cpu: min(max(cpu, 0), 1), memory: min(max(memory, 0), 1))
        samples = [LoadSample(at: Date().timeIntervalSince1970, cpu: usage.cpu, memory: usage.memory)]
      }
    }
    let rate =
      measuredDirtyRates[definition.name].map { Bandwidth(bytesPerSecond: $0.bytesPerSecond) }
      ?? Bandwidth(bytesPerSecond: Double(definition.workload.dirtyBytesPerSecond ?? definition.memoryBytes))
    return VM(
      name: definition.name, host: host, state: state, vcpus: definition.vcpus,
      memory: ByteCount(definition.memoryBytes), cpuModel: definition.cpuModel,
      disks: definition.disks.map { Disk(datastore: $0.datastore, size: ByteCount($0.sizeBytes), path: $0.file) },
      usage: usage, samples: samples, trace: nil, dirtyRate: rate,
      workingSet: ByteCount(definition.workload.workingSetBytes), labels: declared?.labels ?? [:])
  }

  /// QEMU's run state (`running`, `paused`, `inmigrate`, `postmigrate`, …) of `instance`,
  /// asked on its main monitor (for the steps of a migration this process runs).
  func runState(of instance: QEMUInstance) async throws -> QEMURunState {
    let status = try await lab.execute("query-status", vm: instance.vm, on: instance.host)
    return QEMURunState(reported: status["status"]?.string)
  }

  /// ``runState(of:)`` asked on the looking-only monitor: for inventories, `locate` and
  /// checks, which must not wait for (or hold) the monitor another process migrates with.
  func observedRunState(of instance: QEMUInstance) async throws -> QEMURunState {
    let status = try await lab.observe("query-status", vm: instance.vm, on: instance.host)
    return QEMURunState(reported: status["status"]?.string)
  }

  func locateSteps(vm: String) async throws -> [VMPlacement] {
    var placements: [VMPlacement] = []
    for host in layout.hostNames() where FileManager.default.fileExists(atPath: layout.vmDirectory(vm, on: host)) {
      let definition = try? VMDefinition.load(layout.definitionFile(vm, on: host))
      let role = definition?.role ?? .incoming
      guard let instance = lab.instance(vm: vm, on: host) else {
        placements.append(VMPlacement(host: host, state: role == .incoming ? .incoming : .stopped))
        continue
      }
      let state = (try? await observedRunState(of: instance)) ?? .unknown
      switch state {
      case .running:
        placements.append(VMPlacement(host: host, state: .running))
      case .inmigrate, .prelaunch:
        placements.append(VMPlacement(host: host, state: .incoming))
      default:
        placements.append(VMPlacement(host: host, state: role == .incoming && state != .paused ? .incoming : .paused))
      }
    }
    return placements
  }

  // MARK: Helpers

  func definition(_ vm: String, on host: String) throws -> VMDefinition {
    let file = layout.definitionFile(vm, on: host)
    guard FileManager.default.fileExists(atPath: file) else {
      throw DriverError(
        vm: vm, host: host, "the VM is not defined on this host", hint: "check `ballast status`", kind: .refused)
    }
    return try VMDefinition.load(file)
  }

  func requireHost(_ name: String, vm: String? = nil) throws -> BallastModel.Host {
    guard let host = lab.cluster.host(named: name) else {
      throw DriverError(
        vm: vm, host: name, "no such host in the lab", hint: "hosts: \(lab.cluster.hosts.map(\.name))", kind: .refused)
    }
    return host
  }

  func requireInstance(_ vm: String, on host: String, role: String) throws -> QEMUInstance {
    guard let instance = lab.instance(vm: vm, on: host) else {
      throw DriverError(vm: vm, host: host, "the \(role) QEMU process is not running", kind: .unreachable)
    }
    return instance
  }

  /// Closes this process's main-monitor connections to `vm` on `hosts` once a move is over:
  /// QEMU serves one client per monitor, and the next process to move the VM (a drain between
  /// two rounds of the loop) needs it.
  func closeMonitors(of vm: String, on hosts: [String]) async {
    for host in hosts { await lab.connections.drop(layout.qmpSocket(vm, on: host)) }
  }

  func client(_ instance: QEMUInstance) async throws -> QMPClient {
    try await lab.connections.client(instance.socket, timeout: lab.options.startTimeout)
  }
}
