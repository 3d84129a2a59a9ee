import BallastEngine
import BallastModel
import Foundation
import Logging
import Testing

@testable import BallastLibvirt

/// Whether the libvirt lab can run here: root, libvirtd, QEMU and the lab's tools installed.
enum LibvirtAvailability {
  static let ready: Bool = {
    geteuid() == 0
      && ["/usr/sbin/libvirtd", "/usr/bin/qemu-system-x86_64", "/usr/bin/qemu-img", "/usr/bin/unshare",
        "/usr/bin/setpriv"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
  }()
  static let reason: Comment =
    "needs root and Debian's libvirt-daemon, libvirt-daemon-driver-qemu, qemu-system-x86, qemu-utils"
}

let repositoryRoot: String = {
  URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path
}()

let testLogger: Logger = {
  var logger = Logger(label: "ballast.libvirt.tests")
  logger.logLevel = ProcessInfo.processInfo.environment["BALLAST_TEST_LOG"] == nil ? .warning : .debug
  return logger
}()

/// `clusters/libvirt-lab.yaml` in a fresh folder under /var/tmp, up for one test and always
/// taken down (daemons stopped, files removed) afterwards, also when the test fails.
struct LibvirtTestLab {
  let cluster: Cluster
  let lab: LibvirtLab
  let driver: LibvirtDriver

  static func load(root: String, edit: (String) -> String = { $0 }) throws -> Cluster {
    let text = try String(contentsOfFile: repositoryRoot + "/clusters/libvirt-lab.yaml", encoding: .utf8)
      .replacingOccurrences(of: "labRoot: /var/tmp/ballast-libvirt-lab", with: "labRoot: \(root)")
    return try ClusterFile.parse(edit(text), file: "libvirt-lab.yaml")
  }

  static func with(
    edit: @escaping (String) -> String = { $0 }, options: LibvirtDriverOptions = LibvirtDriverOptions(),
    _ body: (LibvirtTestLab) async throws -> Void
  ) async throws {
    try await QEMUTestLock.held {
      await removeStaleLabs()
      let root = "/var/tmp/ballast-lt-" + UUID().uuidString.prefix(8).lowercased()
      let cluster = try load(root: root, edit: edit)
      let lab = try LibvirtLab(
        cluster: cluster, baseDirectory: repositoryRoot + "/clusters", guestSource: repositoryRoot + "/guest",
        logger: testLogger)
      var failure: (any Error)?
      do {
        _ = try await lab.up()
        let driver = try LibvirtDriver(cluster: cluster, uris: lab.layout.uris, options: options, logger: testLogger)
        try await body(LibvirtTestLab(cluster: cluster, lab: lab, driver: driver))
      } catch {
        failure = error
      }
      try? await lab.down(removeFiles: true)
      if let failure { throw failure }
    }
  }

  /// Takes down test labs a crashed test process left behind (holding the lock, no other
  /// test's lab is up).
  static func removeStaleLabs() async {
    let folders = (try? FileManager.default.contentsOfDirectory(atPath: "/var/tmp")) ?? []
    for folder in folders where folder.hasPrefix("ballast-lt-") {
      let root = "/var/tmp/" + folder
      guard let cluster = try? load(root: root) else { continue }
      let lab = try? LibvirtLab(cluster: cluster, baseDirectory: repositoryRoot, logger: testLogger)
      try? await lab?.down(removeFiles: true)
    }
  }

  /// Waits until `vm`'s guest runs on `host` and has dirtied pages.
  func waitForGuest(_ vm: String, on host: String, timeout: Double = 30) async throws -> BallastQEMUStatus {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if let status = try? await lab.guestStatus(vm: vm, on: host), status.dirtiedPages > 0 {
        return BallastQEMUStatus(dirtiedPages: status.dirtiedPages, commands: status.commands ?? 0)
      }
      try await Task.sleep(for: .milliseconds(200))
    }
    throw DriverError(vm: vm, host: host, "the guest did not start dirtying within \(Int(timeout)) s")
  }
}

/// The figures of the guest's status block the tests compare.
struct BallastQEMUStatus: Sendable {
  var dirtiedPages: UInt32
  var commands: UInt32
}
