import BallastEngine
import BallastHistory
import BallastLibvirt
import BallastModel
import BallastTestSupport
import Foundation
import Logging
import Testing

/// A libvirt lab for one test, worked on through the `ballast` executable: a folder with
/// `cluster.yaml` (clusters/libvirt-lab.yaml with its own labRoot under /var/tmp),
/// `policy.yaml` and the history `h.sqlite`. Always taken down (daemons stopped, files removed).
struct LibvirtLabWorkspace {
  let folder: URL
  let labRoot: String
  let lab: LibvirtLab
  let driver: LibvirtDriver

  static let files = ["--cluster", "cluster.yaml", "--policy", "policy.yaml", "--db", "h.sqlite"]
  static let labFiles = ["--cluster", "cluster.yaml"]

  var databasePath: String { folder.appendingPathComponent("h.sqlite").path }

  func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> BallastProcess.Result {
    try await BallastProcess.running(arguments, in: folder, environment: environment)
  }

  func start(_ arguments: [String]) throws -> BallastProcess.Background {
    try BallastProcess.Background(arguments, in: folder, environment: [:])
  }

  func store() throws -> HistoryStore { try HistoryStore(path: databasePath) }

  /// Where `vm` is, as the daemons say.
  func placements(_ vm: String) async throws -> [VMPlacement] { try await driver.locate(vm: vm) }

  /// The guest's dirtying counter on `host`, from its memory.
  func dirtied(_ vm: String, on host: String) async -> UInt32? {
    (try? await lab.guestStatus(vm: vm, on: host))?.dirtiedPages
  }

  /// Waits up to `seconds` for `vm`'s counter on `host` to pass `value`.
  func dirtiedPasses(_ vm: String, on host: String, _ value: UInt32, within seconds: Double = 15) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if let now = await dirtied(vm, on: host), now > value { return true }
      try? await Task.sleep(for: .milliseconds(200))
    }
    return false
  }

  /// `lab up` (unless not `up`), `body`, then `lab down --remove-files`, whatever happened.
  static func with(
    edit: (String) -> String = { $0 }, policy: String, up: Bool = true,
    _ body: (LibvirtLabWorkspace) async throws -> Void
  ) async throws {
    try await QEMUTestLock.held {
      await LibvirtTestLabs.removeStale(prefix: "ballast-lc-")
      let folder = try BallastProcess.temporaryFolder()
      defer { try? FileManager.default.removeItem(at: folder) }
      let labRoot = "/var/tmp/ballast-lc-" + UUID().uuidString.prefix(8).lowercased()
      let text = try LibvirtTestLabs.clusterText(root: labRoot)
      let clusterFile = folder.appendingPathComponent("cluster.yaml")
      try edit(text).write(to: clusterFile, atomically: true, encoding: .utf8)
      try policy.write(to: folder.appendingPathComponent("policy.yaml"), atomically: true, encoding: .utf8)
      // The guest's source is found from the cluster file's folder upwards: give the lab ours.
      let cluster = try ClusterFile.load(path: clusterFile.path)
      let lab = try LibvirtLab(
        cluster: cluster, baseDirectory: folder.path,
        guestSource: BallastProcess.repositoryRoot.appendingPathComponent("guest").path, logger: LibvirtTestLabs.quiet)
      let driver = try LibvirtDriver(cluster: cluster, uris: lab.layout.uris, logger: LibvirtTestLabs.quiet)
      let workspace = LibvirtLabWorkspace(folder: folder, labRoot: labRoot, lab: lab, driver: driver)
      var failure: (any Error)?
      do {
        if up { _ = try await lab.up() }
        try await body(workspace)
      } catch {
        failure = error
      }
      let down = try? await workspace.run(["lab", "down", "--remove-files"] + labFiles)
      if down?.status != 0 { try? await lab.down(removeFiles: true) }
      try? FileManager.default.removeItem(atPath: labRoot)
      if let failure { throw failure }
    }
  }
}
