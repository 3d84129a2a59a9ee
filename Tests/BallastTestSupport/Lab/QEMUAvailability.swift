import BallastDriverSupport
import Testing

/// Whether QEMU is installed; tests that start QEMU are skipped (with ``reason``) when it is not.
public enum QEMUAvailability {
  /// `qemu-system-x86_64` and `qemu-img` are on `PATH`.
  public static let installed =
    ProcessRunner.which("qemu-system-x86_64") != nil && ProcessRunner.which("qemu-img") != nil
  public static let reason: Comment =
    "qemu-system-x86_64 / qemu-img not installed (Debian: qemu-system-x86, qemu-utils)"
}
