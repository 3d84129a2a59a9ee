import BallastDriverSupport
import BallastEngine
import BallastModel
import Foundation
import Logging

/// A lab cluster on this machine: each host a directory, each VM a real QEMU process.
///
/// Built from a cluster file with `driver: qemu`: hosts' capacity and CPU models are
/// declared there (the lab emulates them; every host runs on this machine), each datastore is
/// a directory (a shared one is mounted by symlink on the hosts that list it), each VM boots
/// the test guest (`guest/`) with its `-cpu` model, memory, qcow2 disks and a NIC. The lab
/// directories are the state: after ``up()`` VMs live where migrations put them.
public struct QEMULab: Sendable {
  public let cluster: Cluster
  public let layout: LabLayout
  public let options: QEMULabOptions
  /// The folder the cluster file is in (relative paths start here).
  public let baseDirectory: String
  /// Shared QMP connections to the lab's QEMU processes.
  public let connections: QMPConnections
  let logger: Logger

  /// A lab for `cluster`, whose `labRoot` is relative to `baseDirectory` (the cluster file's
  /// folder). Throws when the cluster is not a QEMU lab.
  public init(
    cluster: Cluster, baseDirectory: String, options: QEMULabOptions = .fromEnvironment(), logger: Logger
  )
    throws
  {
    guard cluster.driver == .qemu else {
      throw DriverError("cluster \(cluster.name) uses the \(cluster.driver.rawValue) driver, not qemu")
    }
    guard let root = cluster.labRoot, !root.isEmpty else {
      throw DriverError("cluster \(cluster.name) has no labRoot", hint: "add labRoot: the folder for the lab's hosts")
    }
    let base = URL(fileURLWithPath: baseDirectory).standardizedFileURL.path
    let layout = LabLayout(root: root.hasPrefix("/") ? root : base + "/" + root)
    if let problem = layout.socketPathProblem(hosts: cluster.hosts.map(\.name), vms: cluster.vms.map(\.name)) {
      throw DriverError("cluster \(cluster.name): \(problem)")
    }
    self.cluster = cluster
    self.baseDirectory = base
    self.layout = layout
    self.options = options
    self.logger = logger
    self.connections = QMPConnections(logger: logger)
  }

  // MARK: Up and down

  /// What ``up()`` did for one VM.
  public struct VMReport: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable {
      case started, alreadyRunning, defined, left
    }
    public var vm: String
    public var host: String
    public var action: Action
  }

  /// Creates the lab's directories, guest kernel and disks, defines VMs that are not defined
  /// on any host yet (on their cluster-file host), and starts every VM whose definition says
  /// running. Idempotent: VMs already running are left alone, moved VMs stay where they are.
  @discardableResult
  public func up() async throws -> [VMReport] {
    try prepareDirectories()
    _ = try await prepareKernel()
    var reports: [VMReport] = []
    for vm in cluster.vms {
      if let host = hostDefining(vm.name) {
        let definition = try VMDefinition.load(layout.definitionFile(vm.name, on: host))
        if instance(vm: vm.name, on: host) != nil {
          reports.append(VMReport(vm: vm.name, host: host, action: .alreadyRunning))
        } else if definition.role == .active && definition.powerState == .running {
          _ = try await launch(definition, on: host, mode: .run)
          reports.append(VMReport(vm: vm.name, host: host, action: .started))
        } else {
          reports.append(VMReport(vm: vm.name, host: host, action: .left))
        }
        continue
      }
      let definition = try await define(vm)
      if vm.state == .running {
        _ = try await launch(definition, on: vm.host, mode: .run)
        reports.append(VMReport(vm: vm.name, host: vm.host, action: .started))
      } else {
        reports.append(VMReport(vm: vm.name, host: vm.host, action: .defined))
      }
    }
    return reports
  }

  /// Stops every QEMU process of the lab (QMP `quit`, killed if it does not exit). VM
  /// definitions keep their power state, so ``up()`` starts the same VMs again.
  /// With `removeFiles`, the whole lab directory is deleted afterwards.
  public func down(removeFiles: Bool = false) async throws {
    for host in layout.hostNames() {
      for vm in layout.vmNames(on: host) {
        if let instance = instance(vm: vm, on: host) {
          await stop(instance, gracePeriod: 0)
        }
      }
    }
    await connections.closeAll()
    if removeFiles, FileManager.default.fileExists(atPath: layout.root) {
      try FileManager.default.removeItem(atPath: layout.root)
    }
  }

  /// Creates `hosts/<host>/{vms,datastores}`, the shared datastores and every host's mounts.
  public func prepareDirectories() throws {
    let files = FileManager.default
    for host in cluster.hosts {
      try files.createDirectory(atPath: layout.vmsDirectory(host.name), withIntermediateDirectories: true)
      try files.createDirectory(atPath: layout.mountsDirectory(host.name), withIntermediateDirectories: true)
      for name in host.datastores {
        guard let store = cluster.datastore(named: name) else {
          throw DriverError(host: host.name, "host mounts unknown datastore \(name)")
        }
        let mount = layout.mount(name, on: host.name)
        let backing = layout.backingDirectory(of: store, localHost: host.name)
        try files.createDirectory(atPath: backing, withIntermediateDirectories: true)
        if backing != mount, (try? files.destinationOfSymbolicLink(atPath: mount)) == nil,
          !files.fileExists(atPath: mount)
        {
          try files.createSymbolicLink(atPath: mount, withDestinationPath: backing)
        }
      }
    }
  }

  /// Builds (or copies) the guest kernel into the lab and returns its path.
  public func prepareKernel() async throws -> String {
    try await GuestKernel.prepare(
      prebuilt: options.guestKernel, source: options.guestSource,
      searchFrom: [baseDirectory, FileManager.default.currentDirectoryPath], output: layout.guestDirectory)
  }

  /// Writes `vm`'s definition on its cluster-file host and creates its disks.
  public func define(_ vm: VM) async throws -> VMDefinition {
    let disks = vm.disks.enumerated().map { i, disk in
      DiskImage(datastore: disk.datastore, file: disk.path ?? "\(vm.name)-disk\(i).qcow2", sizeBytes: disk.size.bytes)
    }
    let definition = VMDefinition(
      name: vm.name, role: .active, powerState: vm.state == .running ? .running : .stopped, vcpus: vm.vcpus,
      memoryBytes: vm.memory.bytes, cpuModel: vm.cpuModel, disks: disks, workload: GuestWorkload(vm: vm),
      mac: VMDefinition.mac(for: vm.name))
    try await install(definition, on: vm.host)
    return definition
  }

  /// Creates `definition`'s directory and missing disk images on `host`.
  public func install(_ definition: VMDefinition, on host: String) async throws {
    try FileManager.default.createDirectory(
      atPath: layout.vmDirectory(definition.name, on: host), withIntermediateDirectories: true)
    for disk in definition.disks {
      try await createDisk(disk, on: host, vm: definition.name)
    }
    try definition.save(to: layout.definitionFile(definition.name, on: host))
  }

  /// Creates a qcow2 image for `disk` as `host` sees it, unless it exists.
  func createDisk(_ disk: DiskImage, on host: String, vm: String) async throws {
    let path = diskPath(disk, on: host)
    guard !FileManager.default.fileExists(atPath: path) else { return }
    guard FileManager.default.fileExists(atPath: layout.mount(disk.datastore, on: host)) else {
      throw DriverError(vm: vm, host: host, "host does not mount datastore \(disk.datastore)")
    }
    let output = try await ProcessRunner.run(
      options.qemuImg, ["create", "-q", "-f", "qcow2", path, String(disk.sizeBytes)], timeout: 60)
    guard output.status == 0 else {
      throw DriverError(
        vm: vm, host: host, "qemu-img create \(path) failed: \(output.standardError)",
        hint: "install qemu-utils")
    }
  }

  /// A disk's path through `host`'s mount of its datastore.
  public func diskPath(_ disk: DiskImage, on host: String) -> String {
    layout.diskImage(disk.file, in: disk.datastore, on: host)
  }

  /// The host whose directory defines `vm` as its home (role active), if any.
  public func hostDefining(_ vm: String) -> String? {
    for host in layout.hostNames() {
      let file = layout.definitionFile(vm, on: host)
      if let definition = try? VMDefinition.load(file), definition.role == .active { return host }
    }
    return nil
  }

  // MARK: Processes

  /// The live QEMU process of `vm` on `host`, if there is one.
  public func instance(vm: String, on host: String) -> QEMUInstance? {
    guard let pid = ProcessInspector.pid(inFile: layout.pidFile(vm, on: host)) else { return nil }
    let instance = QEMUInstance(vm: vm, host: host, pid: pid, socket: layout.qmpSocket(vm, on: host))
    return instance.isAlive ? instance : nil
  }

  /// Starts `definition`'s QEMU on `host` and waits until it answers on QMP.
  public func launch(_ definition: VMDefinition, on host: String, mode: LaunchMode) async throws -> QEMUInstance {
    let vm = definition.name
    if let running = instance(vm: vm, on: host) {
      throw DriverError(vm: vm, host: host, "a QEMU process (pid \(running.pid)) already runs this VM here")
    }
    let socket = layout.qmpSocket(vm, on: host)
    let sockets = [socket, layout.monitorSocket(vm, on: host), layout.controlSocket(vm, on: host)]
    for path in sockets where path.utf8.count > UnixSocket.maxPathLength {
      throw DriverError(
        vm: vm, host: host, "socket path \(path) is longer than \(UnixSocket.maxPathLength) bytes",
        hint: "use a shorter labRoot")
    }
    await connections.drop(socket)
    for stale in sockets + [layout.pidFile(vm, on: host)] {
      try? FileManager.default.removeItem(atPath: stale)
    }
    let kernel = layout.guestKernel
    if !FileManager.default.fileExists(atPath: kernel) { _ = try await prepareKernel() }
    let commandLine = QEMUCommandLine(
      definition: definition, host: host, layout: layout, options: options, kernel: kernel)
    let arguments = commandLine.arguments(mode)
    logger.debug("starting QEMU", metadata: ["vm": "\(vm)", "host": "\(host)", "mode": "\(mode)"])
    if !options.transparentHugePages, let refused = TransparentHugePages.disabledForStartedProcesses {
      logger.debug("QEMU keeps transparent huge pages", metadata: ["reason": "\(refused)"])
    }
    let output: ProcessOutput
    do {
      output = try await ProcessRunner.run(options.qemuSystem, arguments, timeout: options.startTimeout)
    } catch {
      throw DriverError(vm: vm, host: host, "cannot start QEMU: \(error)", hint: "install qemu-system-x86")
    }
    appendLog(
      vm: vm, host: host,
      "start (\(mode)): \(options.qemuSystem) \(arguments.joined(separator: " "))\n"
        + output.standardError)
    guard output.status == 0 else {
      let reason = output.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
      throw DriverError(
        vm: vm, host: host, "QEMU refused to start (exit \(output.status)): \(reason.suffix(600))",
        hint: "see \(layout.qemuLog(vm, on: host))")
    }
    guard let started = instance(vm: vm, on: host) else {
      throw DriverError(
        vm: vm, host: host, "QEMU exited right after starting", hint: "see \(layout.qemuLog(vm, on: host))")
    }
    _ = try await connections.client(socket, timeout: options.startTimeout)
    return started
  }

  /// Stops `instance`: ACPI power button first when `gracePeriod` > 0, then QMP `quit`, then
  /// SIGKILL. Returns once the process is gone.
  public func stop(_ instance: QEMUInstance, gracePeriod: TimeInterval) async {
    if gracePeriod > 0, let client = try? await connections.client(instance.socket, timeout: 5) {
      _ = try? await client.execute("system_powerdown", timeout: 5)
      if await waitForExit(instance, timeout: gracePeriod) { return await connections.drop(instance.socket) }
      logger.info(
        "guest did not power off in time; quitting QEMU",
        metadata: ["vm": "\(instance.vm)", "host": "\(instance.host)"])
    }
    if let client = try? await connections.client(instance.socket, timeout: 5) {
      _ = try? await client.execute("quit", timeout: 5)
    }
    if !(await waitForExit(instance, timeout: 5)) {
      kill(instance.pid, SIGKILL)
      _ = await waitForExit(instance, timeout: 5)
    }
    await connections.drop(instance.socket)
    try? FileManager.default.removeItem(atPath: layout.pidFile(instance.vm, on: instance.host))
  }

  /// Waits up to `timeout` seconds for `instance` to exit; whether it did.
  public func waitForExit(_ instance: QEMUInstance, timeout: TimeInterval) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    var backoff = PollingBackoff()
    while instance.isAlive {
      if Date() >= deadline { return false }
      try? await backoff.pause()
    }
    return true
  }

  /// Sends `command` to `vm`'s QEMU on `host`.
  @discardableResult
  public func execute(
    _ command: String, _ arguments: JSONValue? = nil, vm: String, on host: String
  ) async throws
    -> JSONValue
  {
    let client = try await connections.client(layout.qmpSocket(vm, on: host), timeout: options.startTimeout)
    return try await client.execute(command, arguments, timeout: options.commandTimeout)
  }

  /// Sends `command` to `vm`'s QEMU on `host` through its looking-only monitor, in a connection
  /// of its own closed right after: it works while another process (a migration, the balancing
  /// loop) holds the VM's main monitor. A VM started before the lab had that monitor is asked
  /// through the main one.
  @discardableResult
  public func observe(
    _ command: String, _ arguments: JSONValue? = nil, vm: String, on host: String
  ) async throws
    -> JSONValue
  {
    let socket = layout.monitorSocket(vm, on: host)
    guard FileManager.default.fileExists(atPath: socket) else {
      return try await execute(command, arguments, vm: vm, on: host)
    }
    let client = try await QMPClient.connect(path: socket, timeout: options.startTimeout, logger: logger)
    do {
      let result = try await client.execute(command, arguments, timeout: options.commandTimeout)
      await client.close()
      return result
    } catch {
      await client.close()
      throw error
    }
  }

  /// The test guest's progress inside `vm` on `host` (its dirtying counter and clock).
  public func guestStatus(vm: String, on host: String) async throws -> GuestStatus? {
    let output = try await observe(
      "human-monitor-command", ["command-line": .string(GuestStatus.monitorCommand)], vm: vm, on: host)
    return GuestStatus(monitorOutput: output.string ?? "")
  }

  /// Waits until the test guest in `vm` on `host` runs its dirtying loop; its status then.
  public func waitForGuest(vm: String, on host: String, timeout: TimeInterval = 30) async throws -> GuestStatus {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      if let status = try await guestStatus(vm: vm, on: host), status.state == .running { return status }
      guard Date() < deadline else {
        throw DriverError(
          vm: vm, host: host, "the test guest did not start within \(Int(timeout))s",
          hint: "see \(layout.consoleLog(vm, on: host))")
      }
      try await Task.sleep(for: .milliseconds(100))
    }
  }

  func appendLog(vm: String, host: String, _ text: String) {
    let path = layout.qemuLog(vm, on: host)
    let line = "[\(Date())] " + text + (text.hasSuffix("\n") ? "" : "\n")
    if let handle = FileHandle(forWritingAtPath: path) {
      handle.seekToEndOfFile()
      handle.write(Data(line.utf8))
      try? handle.close()
    } else {
      try? Data(line.utf8).write(to: URL(fileURLWithPath: path))
    }
  }
}
