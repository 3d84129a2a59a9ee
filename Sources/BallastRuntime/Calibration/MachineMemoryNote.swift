import Foundation

/// Whether the machine hands the memory its processes free back to the hypervisor it runs
/// under, which makes a lab's figures noisier than a bare-metal host's.
///
/// Linux's free page reporting (virtio-balloon; microVMs such as Firecracker turn it on)
/// returns freed memory to the outer hypervisor within seconds. A destination QEMU then writes
/// the incoming memory into pages that hypervisor must back again first: on the machine the
/// README's calibration figures come from, 6.5 ms per 2 MiB where memory already backed took
/// 0.17 ms. When the destination falls behind the source that way, the guest's outage and
/// short transfers grow by tens of milliseconds at random; the hypervisor's own downtime
/// (until the last byte left the source) does not. Transparent huge pages made it far worse
/// (2 MiB backed per first write), so the QEMU lab starts its QEMUs without them.
public enum MachineMemoryNote {
  /// Total memory the kernel has reported free to its hypervisor, KiB.
  public static let reportedFile = "/sys/module/page_reporting/parameters/reported_kib"

  /// The note for this machine, if it reports free memory.
  public static func current() -> String? {
    note(reportedKiB: try? String(contentsOfFile: reportedFile, encoding: .utf8))
  }

  /// The note for a machine whose ``reportedFile`` reads `text` (nil: no such file).
  public static func note(reportedKiB text: String?) -> String? {
    guard let text, let kib = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)), kib > 0 else {
      return nil
    }
    let gib = Double(kib) / 1_048_576
    return
      "This machine hands memory its processes free back to the hypervisor it runs under (free page "
      + "reporting: \(String(format: "%.1f", gib)) GiB so far, \(reportedFile)). A destination QEMU writes "
      + "the incoming memory into pages that hypervisor must back again first; where that makes it fall "
      + "behind the source, the guest's outage and short transfers grow, by up to tens of milliseconds. "
      + "The hypervisor's own downtime is not affected; a bare-metal host does not pay this."
  }
}
