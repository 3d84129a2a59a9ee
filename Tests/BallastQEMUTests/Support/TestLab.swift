import BallastDriverSupport
import BallastEngine
import BallastModel
import BallastTestSupport
import Foundation
import Logging
import Testing

@testable import BallastQEMU

let testLogger: Logger = {
  var logger = Logger(label: "ballast.qemu.tests")
  logger.logLevel = ProcessInfo.processInfo.environment["BALLAST_TEST_LOG"] == nil ? .warning : .debug
  return logger
}()

/// A tiny lab in a short temporary directory: a shared datastore, one local datastore per host.
struct TestLab {
  let lab: QEMULab
  let driver: QEMUDriver

  /// Hosts `host-a`, `host-b`, … (all mount `shared`; each its own `local-<host>`), plus `vms`.
  static func make(
    hostCPUModels: [String] = ["Cascadelake-Server", "Cascadelake-Server"], vms: [VM],
    hostMemory: ByteCount = .mib(512), bandwidth: Bandwidth = .mbPerSecond(200),
    driverOptions: QEMUDriverOptions = QEMUDriverOptions()
  ) throws -> TestLab {
    let root = "/tmp/bq-" + UUID().uuidString.prefix(8).lowercased()
    let names = hostCPUModels.indices.map { "host-" + String(UnicodeScalar(UInt8(97 + $0))) }
    let hosts = zip(names, hostCPUModels).map { name, model in
      Host(
        name: name, cores: 2, memory: hostMemory, cpuModel: model, migrationBandwidth: bandwidth,
        datastores: ["shared", "local-\(name)"])
    }
    let stores = [Datastore(name: "shared", shared: true)] + names.map { Datastore(name: "local-\($0)", shared: false) }
    let cluster = Cluster(name: "test-lab", driver: .qemu, labRoot: root, datastores: stores, hosts: hosts, vms: vms)
    var options = QEMULabOptions.fromEnvironment()
    options.guestSource = Repository.guestSource
    let lab = try QEMULab(cluster: cluster, baseDirectory: "/tmp", options: options, logger: testLogger)
    return TestLab(lab: lab, driver: QEMUDriver(lab: lab, options: driverOptions, logger: testLogger))
  }

  /// Runs `body` against a lab that is up, and always takes it down (files removed) afterwards.
  static func with(
    hostCPUModels: [String] = ["Cascadelake-Server", "Cascadelake-Server"], vms: [VM],
    bandwidth: Bandwidth = .mbPerSecond(200), driverOptions: QEMUDriverOptions = QEMUDriverOptions(),
    _ body: (TestLab) async throws -> Void
  ) async throws {
    try await QEMUTestLock.held {
      try await run(hostCPUModels: hostCPUModels, vms: vms, bandwidth: bandwidth, driverOptions: driverOptions, body)
    }
  }

  private static func run(
    hostCPUModels: [String], vms: [VM], bandwidth: Bandwidth, driverOptions: QEMUDriverOptions,
    _ body: (TestLab) async throws -> Void
  ) async throws {
    let testLab = try make(hostCPUModels: hostCPUModels, vms: vms, bandwidth: bandwidth, driverOptions: driverOptions)
    do {
      try await testLab.lab.up()
      try await body(testLab)
    } catch {
      try? await testLab.lab.down(removeFiles: ProcessInfo.processInfo.environment["BALLAST_KEEP_LAB"] == nil)
      throw error
    }
    try await testLab.lab.down(removeFiles: ProcessInfo.processInfo.environment["BALLAST_KEEP_LAB"] == nil)
  }
}

/// A lab VM running the test guest.
func labVM(
  _ name: String, on host: String = "host-a", memory: ByteCount = .mib(64), cpuModel: String = "Cascadelake-Server",
  workingSet: ByteCount = .mib(8), dirtyRate: Bandwidth = .zero, cpu: Double = 0.1, state: PowerState = .running,
  disks: [Disk] = []
) -> VM {
  VM(
    name: name, host: host, state: state, vcpus: 1, memory: memory, cpuModel: cpuModel, disks: disks,
    usage: Usage(cpu: cpu, memory: 0.5), dirtyRate: dirtyRate, workingSet: workingSet)
}
