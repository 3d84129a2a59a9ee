import BallastEngine
import BallastModel
import BallastTestSupport
import Foundation
import Logging
import Testing

@testable import BallastLibvirt

let repositoryRoot = Repository.root.path

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
    try ClusterFile.parse(edit(LibvirtTestLabs.clusterText(root: root)), file: "libvirt-lab.yaml")
  }

  static func with(
    edit: @escaping (String) -> String = { $0 }, options: LibvirtDriverOptions = LibvirtDriverOptions(),
    _ body: (LibvirtTestLab) async throws -> Void
  ) async throws {
    try await QEMUTestLock.held {
      await LibvirtTestLabs.removeStale(prefix: "ballast-lt-")
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
