import CProcessControl
import Foundation

/// Keeps the lab's QEMUs off transparent huge pages (``QEMULabOptions/transparentHugePages``).
///
/// QEMU asks for huge pages for guest memory, and the kernel then backs each first write with a
/// whole 2 MiB page. On a machine that is itself a VM handing freed memory back to its
/// hypervisor (free page reporting: `MachineMemoryNote`), every such page must be backed again
/// out there first: a destination QEMU writing a migration's pages into fresh memory fell behind
/// the source, and guests stayed paused tens of milliseconds longer at random. Measured on such a
/// machine: 64 MiB of pages written one in four over 256 MiB took 2.6–3.2 s with huge pages,
/// 37–105 ms without. The lab's guests run under TCG, whose software TLB gains nothing from huge
/// pages.
enum TransparentHugePages {
  /// Turns huge pages off for this process and the QEMUs it starts from then on, once per
  /// process (the first time it is read); the error (`errno`'s text) when the system refused.
  static let disabledForStartedProcesses: String? = {
    guard ballast_disable_transparent_huge_pages() != 0 else { return nil }
    return String(cString: strerror(errno))
  }()
}
