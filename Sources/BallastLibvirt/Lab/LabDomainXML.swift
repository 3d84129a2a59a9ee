import BallastDriverSupport
import BallastModel

/// The domain XML of a lab VM: Ballast's test guest booted from its kernel, its disks, and two
/// serial ports as ptys (COM1 its console, COM2 its control port, reached through
/// `virDomainOpenConsole`), so nothing in the definition is a host-local path but its disks.
struct LabDomainXML {
  let vm: VMOverride
  let kernel: String
  let disks: [String]
  /// `qemu` (TCG) or `kvm`.
  let type: String

  var xml: String {
    let memoryMiB = max((vm.memory?.bytes ?? 64 << 20) >> 20, 16)
    let workload = GuestWorkload(
      vm: VM(
        name: vm.name, host: vm.host ?? "", vcpus: vm.vcpus ?? 1, memory: vm.memory ?? ByteCount(64 << 20),
        cpuModel: vm.cpuModel ?? "qemu64", usage: vm.usage ?? .idle, dirtyRate: vm.dirtyRate ?? .zero,
        workingSet: vm.workingSet ?? .zero))
    var devices = ""
    for (i, path) in disks.enumerated() {
      let letter = String(UnicodeScalar(UInt8(97 + min(i, 25))))
      devices += """
            <disk type='file' device='disk'>
              <driver name='qemu' type='qcow2' cache='none'/>
              <source file='\(SafeName.xmlEscaped(path))'/>
              <target dev='vd\(letter)' bus='virtio'/>
            </disk>

        """
    }
    return """
      <domain type='\(SafeName.xmlEscaped(type))'>
        <name>\(SafeName.xmlEscaped(vm.name))</name>
        <memory unit='MiB'>\(memoryMiB)</memory>
        <vcpu>\(max(vm.vcpus ?? 1, 1))</vcpu>
        <os>
          <type arch='x86_64' machine='pc'>hvm</type>
          <kernel>\(SafeName.xmlEscaped(kernel))</kernel>
          <cmdline>\(SafeName.xmlEscaped(workload.commandLine))</cmdline>
        </os>
        <cpu mode='custom' match='exact' check='none'>
          <model fallback='forbid'>\(SafeName.xmlEscaped(vm.cpuModel ?? "qemu64"))</model>
        </cpu>
        <on_poweroff>destroy</on_poweroff>
        <devices>
      \(devices)      <serial type='pty'><target port='0'/></serial>
            <serial type='pty'><target port='1'/></serial>
            <memballoon model='none'/>
        </devices>
      </domain>
      """
  }
}
