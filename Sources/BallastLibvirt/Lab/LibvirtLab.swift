import BallastDriverSupport
import BallastEngine
import BallastModel
import CLibvirt
import Foundation
import Logging

/// A libvirt lab on this machine: one session `libvirtd` per host of a `driver: libvirt`
/// cluster file with a `labRoot:`, each as its own user in its own UTS namespace, and the VMs
/// the file lists (`host:`, `vcpus:`, `memory:`, `disks:`) defined and started there, booting
/// Ballast's test guest. Needs root (it creates users and namespaces) and Debian's
/// `libvirt-daemon`, `libvirt-daemon-driver-qemu`, `qemu-system-x86`, `qemu-utils`.
///
/// `down` stops only what `up` started: the domains the file names and the daemons recorded in
/// `lab.json`.
public struct LibvirtLab: Sendable {
  public let cluster: Cluster
  public let settings: LibvirtSettings
  public let layout: LibvirtLabLayout
  let logger: Logger
  /// The `guest/` source folder (holding `build.sh`).
  let guestSource: String?
  /// A prebuilt guest kernel to use instead of building one (`BALLAST_GUEST_KERNEL`).
  let prebuiltKernel: String?
  let baseDirectory: String
  /// `qemu` (TCG) unless KVM is asked for and usable.
  let domainType: String

  /// The lab of `cluster`; its `labRoot` is relative to `baseDirectory` (the file's folder).
  public init(
    cluster: Cluster, baseDirectory: String, guestSource: String? = nil,
    environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger
  ) throws {
    guard let settings = cluster.libvirt, let labRoot = cluster.labRoot else {
      throw DriverError("cluster \(cluster.name) is not a libvirt lab (driver: libvirt with labRoot:)")
    }
    let root = labRoot.hasPrefix("/") ? labRoot : baseDirectory + "/" + labRoot
    if let bad = root.unicodeScalars.first(where: { $0 == "\"" || $0 == "\\" || $0.value < 0x20 }) {
      throw DriverError(
        "the lab folder \(root.debugDescription) contains \(String(bad).debugDescription), which libvirt's "
          + "configuration cannot carry", hint: "choose a labRoot of plain characters")
    }
    self.cluster = cluster
    self.settings = settings
    self.layout = LibvirtLabLayout(root: root, cluster: cluster)
    self.logger = logger
    self.guestSource = guestSource
    self.baseDirectory = baseDirectory
    self.prebuiltKernel = environment["BALLAST_GUEST_KERNEL"].flatMap { $0.isEmpty ? nil : $0 }
    self.domainType = Accelerator.fromEnvironment(environment).effective == .kvm ? "kvm" : "qemu"
  }

  /// The VMs `up` creates: the file's VM entries that name a host.
  public var labVMs: [VMOverride] { settings.vms.filter { $0.host != nil } }

  // MARK: Up

  /// Creates users and folders, starts a daemon per host, defines pools, disks and VMs, and
  /// starts the VMs meant to run. Does again only what is missing. Returns a line per VM.
  public func up() async throws -> [String] {
    guard geteuid() == 0 else {
      throw DriverError(
        "the libvirt lab creates a user and a namespace per host: run `ballast lab up` as root",
        hint: "or point a driver: libvirt cluster file at existing hosts with uri:")
    }
    try checkReachable()
    let kernel = try await prepareKernel()
    try await ensureGroup()
    var state = LibvirtLabState.load(layout.stateFile) ?? LibvirtLabState(root: layout.root, hosts: [:])
    for host in layout.hosts {
      let pid = try await startDaemon(host)
      state.hosts[host] = pid
      try state.save(layout.stateFile)
    }
    let uris = layout.uris
    for host in layout.hosts {
      guard let uri = uris[host] else { continue }
      try await definePools(on: host, uri: uri)
    }
    var lines: [String] = []
    for (index, vm) in settings.vms.enumerated() {
      guard let host = vm.host, let uri = uris[host] else { continue }
      lines.append(try await install(vm, index: index, on: host, uri: uri, kernel: kernel))
    }
    return lines
  }

  /// Every folder above the lab must be searchable by the daemons' users.
  func checkReachable() throws {
    var url = URL(fileURLWithPath: layout.root).deletingLastPathComponent()
    while url.path != "/" {
      if let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
        let mode = attributes[.posixPermissions] as? Int, mode & 0o001 == 0
      {
        throw DriverError(
          "the lab's daemons run as unprivileged users, who cannot enter \(url.path) (mode \(String(mode, radix: 8)))",
          hint: "choose a labRoot under /var/tmp or /tmp, or allow others to search \(url.path)")
      }
      url = url.deletingLastPathComponent()
    }
  }

  func prepareKernel() async throws -> String {
    try Self.makeDirectory(layout.root, mode: 0o755)
    try Self.makeDirectory(layout.guestDirectory, mode: 0o755)
    let kernel = try await GuestKernel.prepare(
      prebuilt: prebuiltKernel, source: guestSource,
      searchFrom: [baseDirectory, FileManager.default.currentDirectoryPath], output: layout.guestDirectory)
    chmod(kernel, 0o644)
    return kernel
  }

  func ensureGroup() async throws {
    if getgrnam(LibvirtLabLayout.group) != nil { return }
    guard let groupadd = LabCommand.find("groupadd") else { throw DriverError("groupadd not found (Debian: passwd)") }
    try await LabCommand.run(groupadd, ["--system", LibvirtLabLayout.group])
  }

  func ensureUser(_ name: String) async throws -> (uid: uid_t, gid: gid_t) {
    if let entry = getpwnam(name) { return (entry.pointee.pw_uid, entry.pointee.pw_gid) }
    guard let useradd = LabCommand.find("useradd") else { throw DriverError("useradd not found (Debian: passwd)") }
    try await LabCommand.run(
      useradd,
      [
        "--system", "--no-create-home", "--home-dir", "/nonexistent", "--gid", LibvirtLabLayout.group, "--shell",
        "/usr/sbin/nologin", name,
      ])
    guard let entry = getpwnam(name) else { throw DriverError("user \(name) was not created") }
    return (entry.pointee.pw_uid, entry.pointee.pw_gid)
  }

  /// Starts `host`'s daemon unless it runs; returns its pid.
  func startDaemon(_ host: String) async throws -> Int32 {
    guard let directory = layout.hostDirectory(host), let user = layout.user(host),
      let hostname = layout.hostname(host), let run = layout.runtimeDirectory(host), let pidFile = layout.pidFile(host)
    else { throw DriverError(host: host, "not a host of this lab") }
    let (uid, gid) = try await ensureUser(user)
    if let pid = Self.livePid(pidFile, uid: uid) { return pid }
    try Self.makeDirectory(directory, mode: 0o755)
    for folder in ["home", "config", "config/libvirt", "data", "cache", "local"] {
      try Self.makeDirectory(directory + "/" + folder, mode: 0o755, owner: (uid, gid))
    }
    try Self.makeDirectory(run, mode: 0o711, owner: (uid, gid))
    let configuration = """
      host_uuid = "\(layout.hostUUID(host))"
      unix_sock_group = "\(LibvirtLabLayout.group)"
      unix_sock_rw_perms = "0770"
      log_outputs = "3:file:\(directory)/cache/libvirtd.log"

      """
    let configFile = directory + "/config/libvirt/libvirtd.conf"
    try Data(configuration.utf8).write(to: URL(fileURLWithPath: configFile))
    chown(configFile, uid, gid)
    guard let unshare = LabCommand.find("unshare"), let setpriv = LabCommand.find("setpriv"),
      let libvirtd = LabCommand.find("libvirtd")
    else {
      throw DriverError(
        host: host, "unshare, setpriv or libvirtd not found",
        hint: "install Debian's util-linux, libvirt-daemon and libvirt-daemon-driver-qemu")
    }
    // The names go in as arguments, never through a shell's parsing.
    try await LabCommand.run(
      unshare,
      [
        "--uts", "--", "/bin/sh", "-c", "hostname \"$1\" && shift && exec \"$@\"", "sh", hostname, setpriv,
        "--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "/usr/bin/env", "-i", "HOME=\(directory)/home",
        "XDG_CONFIG_HOME=\(directory)/config", "XDG_DATA_HOME=\(directory)/data", "XDG_CACHE_HOME=\(directory)/cache",
        "XDG_RUNTIME_DIR=\(run)", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", libvirtd, "--daemon",
      ])
    let socket = run + "/libvirt/libvirt-sock"
    for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) {
      try await Task.sleep(for: .milliseconds(50))
    }
    guard let pid = Self.livePid(pidFile, uid: uid) else {
      throw DriverError(host: host, "libvirtd did not start", hint: "see \(directory)/cache/libvirtd.log")
    }
    chmod(run + "/libvirt", 0o711)  // peer-to-peer migrations connect to each other's socket
    logger.info("daemon started", metadata: ["host": "\(host)", "pid": "\(pid)", "user": "\(user)"])
    return pid
  }

  /// Shared pools on their shared folders, and the host's local pool.
  func definePools(on host: String, uri: String) async throws {
    var pools: [(name: String, folder: String)] = []
    for name in layout.sharedDatastores {
      guard let folder = layout.sharedDirectory(name) else { continue }
      try Self.makeDirectory(folder, mode: 0o1777)
      pools.append((name, folder))
    }
    if let local = layout.localPoolDirectory(host) { pools.append((LibvirtLabLayout.localPool, local)) }
    let wanted = pools
    try await Libvirt.run("defining pools") {
      let connection = try LibvirtConnection.open(uri)
      for (name, folder) in wanted where try connection.storagePool(named: name) == nil {
        let xml =
          "<pool type='dir'><name>\(SafeName.xmlEscaped(name))</name><target><path>\(SafeName.xmlEscaped(folder))</path>"
          + "</target></pool>"
        guard let pool = virStoragePoolDefineXML(connection.pointer, xml, 0) else {
          throw Libvirt.lastFailure("defining pool \(name)")
        }
        defer { virStoragePoolFree(pool) }
        try Libvirt.check(virStoragePoolCreate(pool, 0), "starting pool \(name)")
        try Libvirt.check(virStoragePoolSetAutostart(pool, 1), "marking pool \(name) autostart")
      }
    }
  }

  /// Creates `vm`'s disks and domain on `host` unless the lab already has it somewhere, and
  /// starts it when it should run.
  func install(_ vm: VMOverride, index: Int, on host: String, uri: String, kernel: String) async throws -> String {
    let uris = layout.uris
    for (other, otherURI) in uris.sorted(by: { $0.key < $1.key }) {
      let exists = try await Libvirt.run("looking for \(vm.name)") {
        try LibvirtConnection.open(otherURI).domain(named: vm.name) != nil
      }
      if exists { return "\(vm.name): already defined on \(other)" }
    }
    var disks: [String] = []
    for (i, disk) in vm.disks.enumerated() {
      let folder =
        layout.sharedDatastores.contains(disk.datastore)
        ? layout.sharedDirectory(disk.datastore) : layout.localPoolDirectory(host)
      guard let folder else { continue }
      let path = folder + "/vm\(index + 1)-disk\(i + 1).qcow2"
      if !FileManager.default.fileExists(atPath: path) {
        guard let qemuImg = LabCommand.find("qemu-img") else {
          throw DriverError("qemu-img not found (Debian: qemu-utils)")
        }
        try await LabCommand.run(qemuImg, ["create", "-q", "-f", "qcow2", path, String(disk.size.bytes)])
      }
      chmod(path, 0o666)  // the lab's daemons are different users; the file is the lab's
      disks.append(path)
    }
    let xml = LabDomainXML(vm: vm, kernel: kernel, disks: disks, type: domainType).xml
    let running = (vm.state ?? .running).isRunning
    try await Libvirt.run("defining \(vm.name)") {
      let connection = try LibvirtConnection.open(uri)
      for pool in try connection.storagePools() { try? pool.refresh() }
      let domain = try connection.define(xml)
      if running { try domain.start() }
    }
    return "\(vm.name): defined on \(host)" + (running ? " and started" : " (off)")
  }

  // MARK: Down

  /// Destroys and undefines the lab's VMs, stops the daemons `up` started, and with
  /// `removeFiles` deletes the lab folder.
  public func down(removeFiles: Bool = false) async throws {
    let names = Set(settings.vms.map(\.name))
    let state = LibvirtLabState.load(layout.stateFile)
    for host in layout.hosts {
      guard let uri = layout.uri(host), let pidFile = layout.pidFile(host), let user = layout.user(host) else {
        continue
      }
      let uid = getpwnam(user)?.pointee.pw_uid
      if let uid, Self.livePid(pidFile, uid: uid) != nil {
        try? await Libvirt.run("removing the lab's VMs") {
          let connection = try LibvirtConnection.open(uri)
          for domain in try connection.allDomains() where names.contains(domain.name) {
            try? domain.destroy()
            try? domain.undefine()
          }
        }
      }
      if let uid, let pid = Self.livePid(pidFile, uid: uid), state?.hosts[host] == pid || state == nil {
        kill(pid, SIGTERM)
        for _ in 0..<100 where kill(pid, 0) == 0 { try await Task.sleep(for: .milliseconds(50)) }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
      }
      if let uid, let run = layout.runtimeDirectory(host) { Self.killQEMU(under: run + "/libvirt/qemu/run", uid: uid) }
    }
    try? FileManager.default.removeItem(atPath: layout.stateFile)
    if removeFiles { try? FileManager.default.removeItem(atPath: layout.root) }
  }

  // MARK: Guest

  /// The test guest's status block of `vm` on `host`, read from its memory.
  public func guestStatus(vm: String, on host: String) async throws -> GuestStatus? {
    guard let uri = layout.uri(host) else { throw DriverError(host: host, "not a host of this lab") }
    let bytes = try await Libvirt.run("reading the guest's status") {
      guard let domain = try LibvirtConnection.open(uri).domain(named: vm) else {
        throw DriverError(vm: vm, host: host, "the VM is not on this host")
      }
      return try domain.peekPhysicalMemory(at: GuestStatus.address, count: 40)
    }
    return GuestStatus(littleEndianBytes: bytes)
  }

  /// The lab host whose daemon runs `vm` now, or `nil`.
  public func host(running vm: String) async throws -> String? {
    for host in layout.hosts {
      guard let uri = layout.uri(host) else { continue }
      let runs = try await Libvirt.run("looking for \(vm)") {
        guard let domain = try LibvirtConnection.open(uri).domain(named: vm) else { return false }
        return DomainStatus(state: try domain.state().state, reason: 0, job: nil).isRunning
      }
      if runs { return host }
    }
    return nil
  }

  /// Changes a running guest's load through its control port (COM2, `serial1`), waits until
  /// the guest counted the command, and returns its status block then.
  @discardableResult
  public func setLoad(
    vm: String, on host: String, duty: Int?, rate: Bandwidth?, workingSet: ByteCount?
  ) async throws
    -> GuestStatus
  {
    let line = GuestLoadChange(dutyPercent: duty, dirtyRate: rate, workingSet: workingSet).controlLine
    guard let uri = layout.uri(host) else { throw DriverError(host: host, "not a host of this lab") }
    // The console stays open until the guest counted the line: QEMU drops input it has not
    // handed to the guest when the console's client goes.
    let applied: GuestStatus? = try await Libvirt.run("writing to the guest's control port") {
      let connection = try LibvirtConnection.open(uri)
      guard let domain = try connection.domain(named: vm) else {
        throw DriverError(vm: vm, host: host, "the VM is not on this host")
      }
      let read = { GuestStatus(littleEndianBytes: try domain.peekPhysicalMemory(at: GuestStatus.address, count: 40)) }
      let before = try read()?.commands ?? 0
      let stream = try domain.openConsole("serial1", on: connection)
      try Array(line.utf8).withUnsafeBytes { try stream.send($0) }
      defer { try? stream.finish() }
      for _ in 0..<100 {
        if let status = try read(), (status.commands ?? 0) > before { return status }
        Thread.sleep(forTimeInterval: 0.05)
      }
      return nil
    }
    if let applied { return applied }
    throw DriverError(vm: vm, host: host, "the guest did not apply the load change within 5 s")
  }

  // MARK: Helpers

  static func makeDirectory(_ path: String, mode: mode_t, owner: (uid_t, gid_t)? = nil) throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    chmod(path, mode)
    if let owner { chown(path, owner.0, owner.1) }
  }

  /// The pid in `file` when that process lives and belongs to `uid`.
  static func livePid(_ file: String, uid: uid_t) -> Int32? {
    guard let text = try? String(contentsOfFile: file, encoding: .utf8),
      let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, kill(pid, 0) == 0
    else { return nil }
    var info = stat()
    guard stat("/proc/\(pid)", &info) == 0, info.st_uid == uid else { return nil }
    return pid
  }

  /// Kills the QEMU processes whose pid files lie in `folder` (a daemon's run folder) and that
  /// belong to `uid`.
  static func killQEMU(under folder: String, uid: uid_t) {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    for file in files where file.hasSuffix(".pid") {
      if let pid = livePid(folder + "/" + file, uid: uid) { kill(pid, SIGKILL) }
    }
  }
}

/// What `lab up` started, so `lab down` stops only that.
struct LibvirtLabState: Codable, Sendable {
  var root: String
  /// Host → pid of the daemon the lab started.
  var hosts: [String: Int32]

  static func load(_ file: String) -> LibvirtLabState? {
    guard let data = FileManager.default.contents(atPath: file) else { return nil }
    return try? JSONDecoder().decode(LibvirtLabState.self, from: data)
  }

  func save(_ file: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(self).write(to: URL(fileURLWithPath: file), options: .atomic)
  }
}
