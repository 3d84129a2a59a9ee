import BallastLibvirt
import BallastModel
import Foundation
import Logging
import Testing

/// Whether a libvirt lab can run here: root, libvirtd, QEMU and the lab's tools installed.
public enum LibvirtLabAvailability {
  public static let ready: Bool = {
    geteuid() == 0
      && [
        "/usr/sbin/libvirtd", "/usr/bin/qemu-system-x86_64", "/usr/bin/qemu-img", "/usr/bin/unshare",
        "/usr/bin/setpriv",
      ].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
  }()
  public static let reason: Comment =
    "needs root and Debian's libvirt-daemon, libvirt-daemon-driver-qemu, qemu-system-x86, qemu-utils"
}

/// `clusters/libvirt-lab.yaml` with its lab moved to `root`, for tests.
public enum LibvirtTestLabs {
  public static let quiet = Logger(label: "libvirt-lab-test", factory: { _ in SwiftLogNoOpLogHandler() })

  /// The lab file's text with `labRoot` set to `root`.
  public static func clusterText(root: String) throws -> String {
    try String(contentsOf: Repository.root.appendingPathComponent("clusters/libvirt-lab.yaml"), encoding: .utf8)
      .replacingOccurrences(of: "labRoot: /var/tmp/ballast-libvirt-lab", with: "labRoot: \(root)")
  }

  /// Takes down test labs under /var/tmp whose folder starts with `prefix` that a crashed test
  /// process left (call holding the QEMU test lock: then no other test's lab is up).
  public static func removeStale(prefix: String) async {
    let folders = (try? FileManager.default.contentsOfDirectory(atPath: "/var/tmp")) ?? []
    for folder in folders where folder.hasPrefix(prefix) {
      let root = "/var/tmp/" + folder
      guard let text = try? clusterText(root: root), let cluster = try? ClusterFile.parse(text, file: "stale.yaml"),
        let lab = try? LibvirtLab(cluster: cluster, baseDirectory: "/var/tmp", logger: quiet)
      else { continue }
      try? await lab.down(removeFiles: true)
      try? FileManager.default.removeItem(atPath: root)
    }
  }
}
