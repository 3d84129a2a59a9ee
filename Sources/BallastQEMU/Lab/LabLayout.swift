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
public struct LabLayout: Sendable, Hashable {
  /// Absolute path of the lab's root directory.
  public let root: String

  public init(root: String) {
    self.root = URL(fileURLWithPath: root).standardizedFileURL.path
  }

  public var guestDirectory: String { root + "/guest" }
  public var guestKernel: String { guestDirectory + "/ballast-guest.elf" }
  public var hostsDirectory: String { root + "/hosts" }

  public func hostDirectory(_ host: String) -> String { hostsDirectory + "/" + host }
  public func vmsDirectory(_ host: String) -> String { hostDirectory(host) + "/vms" }
  public func vmDirectory(_ vm: String, on host: String) -> String { vmsDirectory(host) + "/" + vm }
  public func stagingDirectory(_ vm: String, on host: String) -> String { vmsDirectory(host) + "/.\(vm).incoming" }
  public func mountsDirectory(_ host: String) -> String { hostDirectory(host) + "/datastores" }
  /// A datastore as `host` sees it: a directory, or a symlink to a shared one.
  public func mount(_ datastore: String, on host: String) -> String { mountsDirectory(host) + "/" + datastore }

  /// The real directory behind a datastore. Shared: `shared/<name>` (or its `path`, relative to
  /// the lab root); local: inside the one host that mounts it (or its `path`).
  public func backingDirectory(of store: Datastore, localHost: String?) -> String {
    if let path = store.path, !path.isEmpty {
      return path.hasPrefix("/") ? path : root + "/" + path
    }
    if store.shared || localHost == nil { return root + "/shared/" + store.name }
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

  /// Host directories present under `hosts/`, sorted.
  public func hostNames() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: hostsDirectory)) ?? []).filter { !$0.hasPrefix(".") }
      .sorted()
  }

  /// VM directories on `host` (registered VMs and reservations; not cold copies in progress).
  public func vmNames(on host: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: vmsDirectory(host))) ?? []).filter { !$0.hasPrefix(".") }
      .sorted()
  }
}
