import Foundation

/// How QEMU runs the lab's VMs.
public enum Accelerator: String, Sendable, Hashable, Codable, CaseIterable {
  /// Software emulation: slower, runs on any machine (the default).
  case tcg
  /// Hardware virtualization; only used when asked for and `/dev/kvm` is usable.
  case kvm

  /// The accelerator from `BALLAST_QEMU_ACCEL` (`kvm` or `tcg`), TCG when unset or unknown.
  public static func fromEnvironment(_ environment: [String: String]) -> Accelerator {
    environment["BALLAST_QEMU_ACCEL"].flatMap { Accelerator(rawValue: $0.lowercased()) } ?? .tcg
  }

  /// What QEMU will really use: KVM only when asked for and `/dev/kvm` can be opened.
  public var effective: Accelerator {
    guard self == .kvm else { return .tcg }
    let fd = open("/dev/kvm", O_RDWR)
    guard fd >= 0 else { return .tcg }
    close(fd)
    return .kvm
  }
}
