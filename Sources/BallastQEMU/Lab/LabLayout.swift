import BallastDriverSupport
import BallastModel
import Foundation

/// Where everything of a QEMU lab lives on disk, under `<labRoot>`: the cluster file's
/// `labRoot:`, taken relative to the folder holding the cluster file when it is not absolute.
///
/// ```
/// <labRoot>/
///   guest/ballast-guest.elf           the guest kernel every VM boots
///   shared/<datastore>/               shared datastores (a real directory each)
///   hosts/<host>/
///     datastores/<datastore>          local datastores (directories) and mounts of shared
///                                     ones: symlinks holding the absolute path of
///                                     <labRoot>/shared/<datastore> (or of the datastore's
///                                     `path:`, which is relative to <labRoot>)
///     vms/<vm>/                       one VM on this host: vm.json, qmp.sock, monitor.sock,
///                                     control.sock, qemu.pid, console.log, qemu.log
///     vms/.<vm>.incoming/             a cold copy in progress (not a VM until registered)
/// ```
///
/// Every `<host>`, `<vm>` and `<datastore>` above is the name as ``SafeName/fileName(_:)``
/// writes it (one path component, never `..`, never hidden), and disk images' file names go
/// through it too: no name from a cluster file can reach outside `<labRoot>`. Listings map
/// the folder names back with ``SafeName/name(fromFileName:)``.
public struct LabLayout: Sendable, Hashable {
  /// Absolute path of the lab's root directory.
  public let root: String

  public init(root: String) {
    self.root = URL(fileURLWithPath: root).standardizedFileURL.path
  }

  public var guestDirectory: String { root + "/guest" }
  public var guestKernel: String { guestDirectory + "/" + GuestKernel.fileName }
  public var hostsDirectory: String { root + "/hosts" }

  public func hostDirectory(_ host: String) -> String { hostsDirectory + "/" + SafeName.fileName(host) }
  public func vmsDirectory(_ host: String) -> String { hostDirectory(host) + "/vms" }
  public func vmDirectory(_ vm: String, on host: String) -> String { vmsDirectory(host) + "/" + SafeName.fileName(vm) }
  /// Where a cold copy lands before it is registered: hidden (a safe file name never starts
  /// with a dot), so it is never listed as a VM.
  public func stagingDirectory(_ vm: String, on host: String) -> String {
    vmsDirectory(host) + "/.\(SafeName.fileName(vm)).incoming"
  }
  public func mountsDirectory(_ host: String) -> String { hostDirectory(host) + "/datastores" }
  /// A datastore as `host` sees it: a directory, or a symlink to a shared one.
  public func mount(_ datastore: String, on host: String) -> String {
    mountsDirectory(host) + "/" + SafeName.fileName(datastore)
  }
  /// The disk image `file` in `datastore` as `host` sees it.
  public func diskImage(_ file: String, in datastore: String, on host: String) -> String {
    mount(datastore, on: host) + "/" + SafeName.fileName(file)
  }

  /// The real directory behind a datastore. Shared: `shared/<name>` (or its `path`, relative to
  /// the lab root); local: inside the one host that mounts it (or its `path`).
  public func backingDirectory(of store: Datastore, localHost: String?) -> String {
    if let path = store.path, !path.isEmpty {
      return path.hasPrefix("/") ? path : root + "/" + path
    }
    if store.shared || localHost == nil { return root + "/shared/" + SafeName.fileName(store.name) }
    return mount(store.name, on: localHost ?? "")
  }

  public func definitionFile(_ vm: String, on host: String) -> String { vmDirectory(vm, on: host) + "/vm.json" }
  public func qmpSocket(_ vm: String, on host: String) -> String { vmDirectory(vm, on: host) + "/qmp.sock" }
  /// A second QMP monitor for looking only (state, guest status), used by any process in
  /// short connections: QEMU serves one client per monitor, and the process migrating the VM
  /// keeps `qmp.sock`.
  public func monitorSocket(_ vm: String, on host: String) -> String { vmDirectory(vm, on: host) + "/monitor.sock" }
  /// The test guest's control port (its COM2), a UNIX socket QEMU listens on.
  public func controlSocket(_ vm: String, on host: String) -> String { vmDirectory(vm, on: host) + "/control.sock" }
  public func pidFile(_ vm: String, on host: String) -> String { vmDirectory(vm, on: host) + "/qemu.pid" }
  public func consoleLog(_ vm: String, on host: String) -> String { vmDirectory(vm, on: host) + "/console.log" }
  public func qemuLog(_ vm: String, on host: String) -> String { vmDirectory(vm, on: host) + "/qemu.log" }

  /// Names of the hosts whose directories are under `hosts/`, sorted.
  public func hostNames() -> [String] { names(in: hostsDirectory) }

  /// Names of the VMs with a directory on `host` (registered VMs and reservations; not cold
  /// copies in progress).
  public func vmNames(on host: String) -> [String] { names(in: vmsDirectory(host)) }

  /// The names behind the entries of `directory` that ``SafeName`` wrote (others are ignored).
  private func names(in directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap(SafeName.name(fromFileName:))
      .sorted()
  }

  /// Why the sockets of some VM of `vms` on some host of `hosts` could not be created here
  /// (their paths would be too long for a UNIX socket), or `nil` when all can.
  public func socketPathProblem(hosts: [String], vms: [String]) -> String? {
    guard let host = hosts.max(by: { SafeName.fileName($0).utf8.count < SafeName.fileName($1).utf8.count }),
      let vm = vms.max(by: { SafeName.fileName($0).utf8.count < SafeName.fileName($1).utf8.count })
    else { return nil }
    let longest = [qmpSocket(vm, on: host), monitorSocket(vm, on: host), controlSocket(vm, on: host)].max {
      $0.utf8.count < $1.utf8.count
    }
    guard let longest, longest.utf8.count > UnixSocket.maxPathLength else { return nil }
    return "the lab's socket paths would be up to \(longest.utf8.count) bytes (\(longest)), more than the "
      + "\(UnixSocket.maxPathLength) a UNIX socket allows: shorten the host or VM names, or use a shorter labRoot"
  }
}
