import BallastDriverSupport
import BallastHistory
import BallastModel
import BallastQEMU
import BallastTestSupport
import Foundation
import Logging
import Testing

/// A real QEMU lab for one test: a folder with `lab.yaml` (its `labRoot` a short folder under
/// /tmp, so socket paths fit), `policy.yaml` and the history database `h.sqlite`, worked on
/// through the `ballast` executable like an operator would.
///
/// The test process never holds a VM's QMP monitor while a `ballast` process runs (QEMU serves
/// one client per monitor): it looks at processes, lab folders and consoles instead, and uses
/// QMP (``lab``) only between commands, closing it after.
struct LabWorkspace {
  let folder: URL
  let labRoot: String
  /// The guest kernel, built once per workspace from the repository's `guest/`.
  let kernel: String

  static let files = ["--cluster", "lab.yaml", "--policy", "policy.yaml", "--db", "h.sqlite"]
  static let labFiles = ["--cluster", "lab.yaml"]

  /// Writes the files: `hosts` and `vms` are YAML list items (`- {name: …}`) for the cluster.
  init(hosts: [String], vms: [String], policy: String) async throws {
    folder = try BallastProcess.temporaryFolder()
    labRoot = "/tmp/bl-" + UUID().uuidString.prefix(8).lowercased()
    kernel = try await GuestKernel.build(
      source: Repository.guestSource, output: folder.appendingPathComponent("guest").path)
    let cluster = """
      version: 1
      name: test-lab
      driver: qemu
      labRoot: \(labRoot)
      datastores:
        - {name: shared, shared: true}
        - {name: local-a}
        - {name: local-b}
        - {name: local-c}
      hosts:
      \(hosts.map { "  " + $0 }.joined(separator: "\n"))
      vms:
      \(vms.map { "  " + $0 }.joined(separator: "\n"))

      """
    try cluster.write(to: folder.appendingPathComponent("lab.yaml"), atomically: true, encoding: .utf8)
    try policy.write(to: folder.appendingPathComponent("policy.yaml"), atomically: true, encoding: .utf8)
  }

  /// A host line: 1 core (so one busy guest shows), 512 MiB, the shared datastore and its own.
  static func host(_ name: String, cpu: String = "Cascadelake-Server", local: String) -> String {
    "- {name: \(name), cores: 1, memory: 512MiB, cpuModel: \(cpu), migrationBandwidth: 800Mbit/s, "
      + "datastores: [shared, \(local)]}"
  }

  /// A VM line: 64 MiB, one vCPU, the test guest loading it as `cpu` and `dirtyRate` say.
  static func vm(
    _ name: String, on host: String, cpu: Double = 0.1, dirtyRate: String = "1MB/s", workingSet: String = "4MiB",
    disk: String = "shared", state: String = "running", cpuModel: String = "Cascadelake-Server"
  ) -> String {
    "- {name: \(name), host: \(host), state: \(state), vcpus: 1, memory: 64MiB, cpuModel: \(cpuModel), "
      + "disks: [{datastore: \(disk), size: 16MiB}], usage: {cpu: \(cpu), memory: 0.5}, "
      + "dirtyRate: \(dirtyRate), workingSet: \(workingSet)}"
  }

  var environment: [String: String] { ["BALLAST_GUEST_KERNEL": kernel] }
  var databasePath: String { folder.appendingPathComponent("h.sqlite").path }

  /// Runs `ballast arguments…` in the folder, and waits.
  func run(_ arguments: [String]) async throws -> BallastProcess.Result {
    try await BallastProcess.running(arguments, in: folder, environment: environment)
  }

  /// Starts `ballast arguments…` in the folder, with `extra` environment variables.
  func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> BallastProcess.Background {
    try BallastProcess.Background(arguments, in: folder, environment: environment.merging(extra) { _, new in new })
  }

  func store() throws -> HistoryStore { try HistoryStore(path: databasePath) }

  /// The lab as the cluster file describes it (for looking at processes, folders and consoles).
  func lab() throws -> QEMULab {
    let cluster = try ClusterFile.load(path: folder.appendingPathComponent("lab.yaml").path)
    var options = QEMULabOptions.fromEnvironment()
    options.guestKernel = kernel
    return try QEMULab(
      cluster: cluster, baseDirectory: folder.path, options: options,
      logger: Logger(label: "lab-test", factory: { _ in SwiftLogNoOpLogHandler() }))
  }

  /// `ballast lab up`, then `body`, then `ballast lab down --remove-files` and the folder removed,
  /// whatever `body` did.
  static func with(
    hosts: [String], vms: [String], policy: String, _ body: (LabWorkspace) async throws -> Void
  ) async throws {
    try await QEMUTestLock.held { try await run(hosts: hosts, vms: vms, policy: policy, body) }
  }

  private static func run(
    hosts: [String], vms: [String], policy: String, _ body: (LabWorkspace) async throws -> Void
  ) async throws {
    let workspace = try await LabWorkspace(hosts: hosts, vms: vms, policy: policy)
    defer { try? FileManager.default.removeItem(at: workspace.folder) }
    do {
      let up = try await workspace.run(["lab", "up"] + labFiles)
      try #require(up.status == 0, "lab up: \(up.stdout) \(up.stderr)")
      try await body(workspace)
    } catch {
      await workspace.down()
      throw error
    }
    await workspace.down()
  }

  /// Stops every QEMU of the lab and removes its folders (the QMP-free way when a test failed
  /// with a `ballast` process still holding monitors: the lab kills what does not quit).
  func down() async {
    let down = try? await run(["lab", "down", "--remove-files"] + Self.labFiles)
    if down?.status != 0, let lab = try? lab() {
      try? await lab.down(removeFiles: true)
    }
    try? FileManager.default.removeItem(atPath: labRoot)
  }

  // MARK: Looking at the lab without QMP

  /// Hosts on which `vm` has a QEMU process now.
  func hostsRunning(_ vm: String) throws -> [String] {
    let lab = try lab()
    return lab.layout.hostNames().filter { lab.instance(vm: vm, on: $0) != nil }
  }

  /// Hosts holding a folder of `vm` (its definition, a reservation or a leftover).
  func hostsHolding(_ vm: String) throws -> [String] {
    let lab = try lab()
    return lab.layout.hostNames().filter { lab.layout.vmNames(on: $0).contains(vm) }
  }

  /// The guest's dirtying counter from the last progress line on its console on `host`.
  func dirtied(_ vm: String, on host: String) throws -> Int? {
    let console = try lab().layout.consoleLog(vm, on: host)
    let text = (try? String(contentsOfFile: console, encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n").reversed() {
      if let range = line.range(of: " dirtied="),
        let value = Int(line[range.upperBound...].prefix { $0.isNumber })
      {
        return value
      }
    }
    return nil
  }

  /// Waits up to `seconds` for `vm`'s counter on `host` to pass `value`; whether it did.
  func dirtiedPasses(_ vm: String, on host: String, _ value: Int, within seconds: Double = 10) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if let now = try dirtied(vm, on: host), now > value { return true }
      try await Task.sleep(for: .milliseconds(200))
    }
    return false
  }
}
