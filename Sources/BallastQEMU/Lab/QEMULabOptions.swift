import BallastDriverSupport
import Foundation

/// Binaries, accelerator, guest kernel and time limits of a QEMU lab.
public struct QEMULabOptions: Sendable, Hashable {
  /// `qemu-system-x86_64` (Debian: `qemu-system-x86`).
  public var qemuSystem: String = "qemu-system-x86_64"
  /// `qemu-img` (Debian: `qemu-utils`).
  public var qemuImg: String = "qemu-img"
  /// Requested accelerator; KVM falls back to TCG when `/dev/kvm` cannot be opened.
  public var accelerator: Accelerator = .tcg
  /// The `guest/` source directory (holding `build.sh`); found from the cluster file's
  /// folder upwards when `nil`.
  public var guestSource: String?
  /// A prebuilt guest kernel to use instead of building one.
  public var guestKernel: String?
  /// QEMU machine type; source and destination of a migration must use the same.
  public var machine: String = "pc"
  /// Longest wait for a QEMU process to start and answer on QMP.
  public var startTimeout: TimeInterval = 30
  /// Longest wait for one QMP command.
  public var commandTimeout: TimeInterval = 30
  /// Whether the lab's QEMUs may back guest memory with transparent huge pages (off: see
  /// `TransparentHugePages`; `BALLAST_QEMU_HUGEPAGES=on` allows them).
  public var transparentHugePages = false

  public init() {}

  /// Defaults, with `BALLAST_QEMU_ACCEL=kvm|tcg`, `BALLAST_QEMU`, `BALLAST_QEMU_IMG`,
  /// `BALLAST_GUEST_KERNEL` and `BALLAST_QEMU_HUGEPAGES=on|off` from the environment applied.
  public static func fromEnvironment(
    _ environment: [String: String] = ProcessInfo.processInfo.environment
  )
    -> QEMULabOptions
  {
    var options = QEMULabOptions()
    options.accelerator = Accelerator.fromEnvironment(environment)
    if let qemu = environment["BALLAST_QEMU"], !qemu.isEmpty { options.qemuSystem = qemu }
    if let img = environment["BALLAST_QEMU_IMG"], !img.isEmpty { options.qemuImg = img }
    if let kernel = environment["BALLAST_GUEST_KERNEL"], !kernel.isEmpty { options.guestKernel = kernel }
    options.transparentHugePages = environment["BALLAST_QEMU_HUGEPAGES"]?.lowercased() == "on"
    return options
  }

  /// The accelerator QEMU will really use: KVM only when asked for and `/dev/kvm` is usable.
  public var effectiveAccelerator: Accelerator { accelerator.effective }
}
