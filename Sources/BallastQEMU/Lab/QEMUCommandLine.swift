import BallastModel

/// How a VM's QEMU process starts.
public enum LaunchMode: Sendable, Hashable {
  /// Boots the guest and runs it.
  case run
  /// An empty container for an incoming live migration: paused (`-S`), listening once
  /// `migrate-incoming` is sent (`-incoming defer`).
  case incoming
}

/// The `qemu-system-x86_64` arguments for one VM on one lab host.
///
/// Source and destination of a live migration get the same machine, CPU model, memory,
/// devices and kernel; only the host-local paths (QMP sockets, pidfile, serial log, control
/// socket, disk mounts) differ. Two QMP monitors: `qmp.sock` for the process that migrates
/// or powers the VM, `monitor.sock` for short looks from any process. COM1 is the guest's console (a file), COM2 its control port
/// (a UNIX socket the lab writes load changes to).
///
/// Names and paths reach QEMU only as option values escaped by ``SafeName/qemuOptionValue(_:)``
/// (commas doubled), or where QEMU reads the rest of the argument as one value (`-pidfile`,
/// `-kernel`, `-serial file:`): a VM called `x,foo=bar` cannot add an option, and `a,x` and
/// `a,,x` stay apart.
struct QEMUCommandLine {
  var definition: VMDefinition
  var host: String
  var layout: LabLayout
  var options: QEMULabOptions
  var kernel: String

  func arguments(_ mode: LaunchMode) -> [String] {
    let vm = definition.name
    let name = SafeName.qemuOptionValue("ballast-\(vm)")
    func path(_ path: String) -> String { SafeName.qemuOptionValue(path) }
    var args: [String] = [
      "-name", "\(name),process=\(name)",
      "-machine", options.machine,
      "-accel", options.effectiveAccelerator.rawValue,
      "-cpu", definition.cpuModel,
      "-smp", String(max(definition.vcpus, 1)),
      "-m", "\(definition.memoryMiB)M",
      "-nodefaults", "-no-user-config", "-display", "none",
      "-kernel", kernel,
      "-append", definition.workload.commandLine,
      // `file:` takes the rest of the argument as the path, commas included: no escaping.
      "-serial", "file:" + layout.consoleLog(vm, on: host),
      "-chardev", "socket,id=control,path=\(path(layout.controlSocket(vm, on: host))),server=on,wait=off",
      "-serial", "chardev:control",
      "-qmp", "unix:\(path(layout.qmpSocket(vm, on: host))),server=on,wait=off",
      "-qmp", "unix:\(path(layout.monitorSocket(vm, on: host))),server=on,wait=off",
      "-netdev", "user,id=net0",
      "-device", "virtio-net-pci,netdev=net0,mac=\(definition.mac),romfile=",
      "-daemonize", "-pidfile", layout.pidFile(vm, on: host),
    ]
    for (i, disk) in definition.disks.enumerated() {
      let image = layout.diskImage(disk.file, in: disk.datastore, on: host)
      args += ["-drive", "file=\(path(image)),format=qcow2,if=virtio,index=\(i),cache=writeback"]
    }
    if mode == .incoming {
      args += ["-S", "-incoming", "defer"]
    }
    return args
  }
}
