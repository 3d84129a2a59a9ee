import BallastEngine
import BallastLibvirt
import BallastModel
import BallastPlanner
import BallastQEMU
import Foundation
import Logging
import Synchronization

/// What a calibration migrates, and over which grid.
public struct CalibrationSettings: Sendable, Hashable, Codable {
  /// Memory of the migrated VM.
  public var vmMemory: ByteCount = .mib(64)
  /// Working set the guest fills at boot and keeps rewriting.
  public var workingSet: ByteCount = .mib(16)
  /// Dirty rates the guest is set to, one group of rows each.
  public var dirtyRates: [Bandwidth] = [0, 4, 8, 16, 32].map { .mbPerSecond($0) }
  /// Bandwidth caps (the policy's `bandwidthCap`), one row each.
  public var bandwidthCaps: [Bandwidth] = [16, 32, 64].map { .mbPerSecond($0) }
  /// The policy's pause limit.
  public var downtimeLimit: TimeSpan = .milliseconds(100)
  /// Migrations of each point's VM, back and forth: the first is predicted from the VM's
  /// description only, each later one with what the earlier ones taught.
  public var migrations: Int = 2
  /// How long the guest runs before its first migration.
  public var warmUp: TimeSpan = .seconds(1.5)
  /// The link's rate; `nil`: measured first, by migrating an idle guest with no cap.
  public var linkRate: Bandwidth?

  public init() {}
}

/// Real live migrations on a throwaway copy of a lab (QEMU or libvirt), over a grid of dirty
/// rates × bandwidth caps, each predicted by the cost model before it runs and measured by the
/// hypervisor: how good the model is, before and after it learned.
///
/// Each point gets a fresh two-host lab holding one VM running the test guest, which dirties
/// its working set at the point's rate. The VM is migrated back and forth
/// ``CalibrationSettings/migrations`` times through the migration engine: the first prediction
/// uses the VM's description only (the static model), each later one what the earlier
/// migrations of that VM taught (``CostLearner``, in memory). Unless the link's rate is given,
/// a first lab measures it: the best of three migrations of an idle guest with no cap.
public struct LabCalibration: Sendable {
  public let lab: Cluster
  public let clusterFile: String
  public let settings: CalibrationSettings
  let logger: Logger

  /// Calibrates on copies of the lab `lab` (read from `clusterFile`).
  /// - Throws: ``RuntimeError`` when the file describes no lab or has fewer than two hosts.
  public init(lab: Cluster, clusterFile: String, settings: CalibrationSettings, logger: Logger) throws {
    guard lab.driver == .qemu || (lab.driver == .libvirt && lab.labRoot != nil) else {
      throw RuntimeError(
        .badSetting,
        "\(clusterFile) describes no lab; calibrate needs a lab file (driver: qemu, e.g. clusters/lab.yaml, or "
          + "driver: libvirt with labRoot:, e.g. clusters/libvirt-lab.yaml)")
    }
    guard Self.hostNames(lab).count >= 2 else {
      throw RuntimeError(.badSetting, "\(clusterFile) has fewer than two hosts: nothing to migrate between")
    }
    self.lab = lab
    self.clusterFile = clusterFile
    self.settings = settings
    self.logger = logger
  }

  /// Runs the grid; `onMigration` hears of each migration as it ends (for progress).
  public func run(
    onMigration: @Sendable (CalibrationPoint, CalibrationMigration) async -> Void = { _, _ in }
  ) async throws -> CalibrationReport {
    let link: Bandwidth
    if let given = settings.linkRate { link = given } else { link = try await measureLink() }
    var points: [CalibrationPoint] = []
    for rate in settings.dirtyRates {
      for cap in settings.bandwidthCaps {
        var point = CalibrationPoint(dirtyRate: rate, bandwidthCap: cap, migrations: [], failure: nil)
        do {
          let header = point
          try await runPoint(&point, link: link) { migration in await onMigration(header, migration) }
        } catch {
          point.failure = "\(error)"
          logger.warning("calibration point failed", metadata: ["rate": "\(rate)", "error": "\(error)"])
        }
        points.append(point)
      }
    }
    return CalibrationReport(
      lab: lab.name, driver: lab.driver, settings: settings, linkRate: link, points: points,
      machineNotes: [MachineMemoryNote.current()].compactMap { $0 })
  }

  // MARK: Steps

  /// The link's rate: the best of three migrations of a guest that dirties nothing, with no
  /// cap, over links declared far faster than any this machine has. The best, because what
  /// slows one (other processes on this machine taking the CPU QEMU's migration thread needs)
  /// is not the link: one run measured 82 to 233 MB/s from one minute to the next.
  func measureLink() async throws -> Bandwidth {
    var point = CalibrationPoint(dirtyRate: .zero, bandwidthCap: nil, migrations: [], failure: nil)
    var idle = settings
    idle.migrations = 3
    // A guest that filled most of its memory: enough bytes to time the link.
    idle.workingSet = ByteCount(Int64(settings.vmMemory.double * 0.85))
    try await runPoint(&point, link: .gbit(1000), settings: idle) { _ in }
    let rates = point.migrations.compactMap { migration -> Double? in
      guard let seconds = migration.measuredTransferSeconds, seconds > 0, let bytes = migration.measured?.bytes,
        bytes > 0
      else { return nil }
      return bytes / seconds
    }
    guard let best = rates.max() else {
      throw RuntimeError(.notPossible, "could not measure the lab's link: \(point.migrations.first?.failure ?? "")")
    }
    return Bandwidth(bytesPerSecond: best)
  }

  private func runPoint(
    _ point: inout CalibrationPoint, link: Bandwidth, settings: CalibrationSettings? = nil,
    onMigration: @Sendable (CalibrationMigration) async -> Void
  ) async throws {
    let settings = settings ?? self.settings
    let root = try Self.freshRoot(base: lab.labRoot ?? "/tmp", clusterFile: clusterFile)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let cluster = benchCluster(rate: point.dirtyRate, link: link, root: root, settings: settings)
    let described = Self.describedVM(rate: point.dirtyRate, settings: settings, host: "")
    let backend = try Lab.of(cluster, clusterFile: clusterFile, logger: logger)
    var policy = Policy()
    policy.name = "calibration"
    policy.downtimeLimit = settings.downtimeLimit
    policy.bandwidthCap = point.bandwidthCap
    policy.concurrency = Concurrency(perHost: 1, cluster: 1)
    // The calibration learns itself (``learn(from:described:into:)``), not the engine's journal.
    policy.model.learn = false
    do {
      _ = try await backend.up()
      let driver = try self.driver(cluster, lab: backend)
      try await waitForGuest(backend, driver: driver)
      try await Task.sleep(for: .seconds(settings.warmUp.seconds))
      let journal = InMemoryJournal()
      var learned = LearnedEstimates.empty
      for number in 1...max(settings.migrations, 1) {
        let migration = try await migrate(
          number: number, driver: driver, journal: journal, learned: learned, policy: policy, described: described)
        if let observation = migration.observation {
          Self.learn(from: observation, described: described, into: &learned, settings: policy.model.learning)
        }
        point.migrations.append(migration)
        await onMigration(migration)
        if migration.measured == nil { break }
      }
      try await backend.down(removeFiles: true)
    } catch {
      try? await backend.down(removeFiles: true)
      throw error
    }
  }

  /// What `observation` teaches, read with the figures the model predicted from: the VM as
  /// described (its CPU use decides how auto-converge slows its dirtying), not as the
  /// inventory sampled it while the lab ran.
  static func learn(
    from observation: MigrationObservation, described: VM, into learned: inout LearnedEstimates,
    settings: LearningSettings
  ) {
    var observation = observation
    observation.vmAtStart.usage = described.usage
    observation.vmAtStart.dirtyRate = described.dirtyRate
    observation.vmAtStart.workingSet = described.workingSet
    learned.learn(from: observation, settings: settings)
  }

  /// One migration of the VM to the other host: planned with what the earlier ones taught
  /// (`learned`), run through the engine, rounds recorded.
  private func migrate(
    number: Int, driver: any Driver, journal: InMemoryJournal, learned: LearnedEstimates, policy: Policy,
    described: VM
  ) async throws -> CalibrationMigration {
    var cluster = try await driver.inventory()
    guard let i = cluster.vms.firstIndex(where: { $0.name == Self.vmName }),
      let other = cluster.hosts.first(where: { $0.name != cluster.vms[i].host })
    else { throw RuntimeError(.notPossible, "the calibration VM is not in the lab's inventory") }
    // The static model knows the VM as its description says, not as the lab measures it.
    cluster.vms[i].usage = described.usage
    cluster.vms[i].dirtyRate = described.dirtyRate
    cluster.vms[i].workingSet = described.workingSet
    let vm = cluster.vms[i]
    let model = CostModel(for: cluster, learned: learned)
    let plan = try ManualMove.plan(
      vm: vm.name, to: other.name, requested: .live, cluster: cluster, policy: policy, model: model)
    guard let move = plan.moves.first else { throw RuntimeError(.notPossible, "no move planned") }
    let source = cluster.host(named: vm.host)
    let link = model.link(from: source, to: other)
    let transfer = model.predictTransfer(vm: vm, link: link, policy: policy)
    let figures = model.figures(for: vm)
    let learned =
      [figures.touchedMemory, figures.dirtyRate, link.efficiency, link.pauseSeconds, link.liveSetupSeconds]
      .filter(\.source.isLearned).count
    let rounds = RoundRecorder()
    let engine = MigrationEngine(
      driver: driver, journal: journal, clock: SystemClock(), policy: policy, logger: logger,
      observer: { [logger] event in
        rounds.take(event)
        logger.debug(
          "engine event",
          metadata: [
            "type": "\(event.type)", "stage": "\(event.stage.map { "\($0)" } ?? "")",
            "outcome": "\(event.stageOutcome.map { "\($0)" } ?? "")", "time": "\(event.time)",
          ])
      })
    let summary = await engine.execute(plan)
    let result = summary.results.first
    let observation = result?.observation
    return CalibrationMigration(
      number: number, from: move.from, to: move.to, predicted: move.predicted, measured: result?.measured,
      predictedTransferSeconds: transfer.totalSeconds, measuredTransferSeconds: observation?.transferSeconds,
      learnedFigures: learned, rounds: rounds.rounds, throttle: observation?.throttle,
      failure: result?.outcome == .completed ? nil : result?.reason ?? "not run", observation: observation)
  }

  private func driver(_ cluster: Cluster, lab: Lab) throws -> any Driver {
    switch lab {
    case .qemu(let qemu): return QEMUDriver(lab: qemu, logger: logger)
    case .libvirt: return try LibvirtSession.driver(cluster: cluster, clusterFile: clusterFile, logger: logger)
    }
  }

  private func waitForGuest(_ lab: Lab, driver: any Driver) async throws {
    switch lab {
    case .qemu(let qemu):
      guard let host = Self.hostNames(self.lab).first else { return }
      _ = try await qemu.waitForGuest(vm: Self.vmName, on: host)
    case .libvirt(let libvirt):
      let deadline = Date().addingTimeInterval(60)
      while Date() < deadline {
        if let host = try await libvirt.host(running: Self.vmName),
          try await libvirt.guestStatus(vm: Self.vmName, on: host) != nil
        {
          return
        }
        try await Task.sleep(for: .milliseconds(200))
      }
      throw RuntimeError(.notPossible, "the calibration guest did not come up within 60 s")
    }
  }

  // MARK: The throwaway lab

  static let vmName = "calibration"

  static func hostNames(_ lab: Cluster) -> [String] {
    lab.libvirt.map { $0.hosts.map(\.name) } ?? lab.hosts.map(\.name)
  }

  /// The calibration VM as a cluster file would describe it: busy all the time, its memory in
  /// use its working set (and a MiB of the guest's own).
  static func describedVM(rate: Bandwidth, settings: CalibrationSettings, host: String) -> VM {
    let memoryUse = min((settings.workingSet.double + Double(ByteCount.mib(1).bytes)) / settings.vmMemory.double, 1)
    return VM(
      name: vmName, host: host, vcpus: 1, memory: settings.vmMemory, cpuModel: "qemu64",
      usage: Usage(cpu: 1, memory: memoryUse), dirtyRate: rate, workingSet: settings.workingSet)
  }

  /// The lab's first two hosts, its shared datastore, links at `link`, and one VM dirtying at `rate`.
  func benchCluster(rate: Bandwidth, link: Bandwidth, root: String, settings: CalibrationSettings) -> Cluster {
    var cluster = lab
    cluster.labRoot = root
    let names = Array(Self.hostNames(lab).prefix(2))
    let vm = Self.describedVM(rate: rate, settings: settings, host: names[0])
    cluster.rules = []
    if var libvirt = cluster.libvirt {
      libvirt.hosts = libvirt.hosts.filter { names.contains($0.name) }.map { host in
        var host = host
        host.migrationBandwidth = link
        return host
      }
      libvirt.vms = [
        VMOverride(
          name: vm.name, cpuModel: vm.cpuModel, dirtyRate: rate, workingSet: settings.workingSet, host: names[0],
          vcpus: 1, memory: settings.vmMemory, usage: vm.usage)
      ]
      cluster.libvirt = libvirt
      cluster.hosts = cluster.hosts.filter { names.contains($0.name) }
      cluster.vms = []
    } else {
      cluster.hosts = cluster.hosts.filter { names.contains($0.name) }.map { host in
        var host = host
        host.migrationBandwidth = link
        host.cpuModel = "qemu64"
        return host
      }
      cluster.vms = [vm]
    }
    return cluster
  }

  /// A new, empty folder for one throwaway lab, beside the lab's own (a short path: QMP sockets).
  static func freshRoot(base: String, clusterFile: String) throws -> String {
    let folder =
      base.hasPrefix("/")
      ? base : URL(fileURLWithPath: clusterFile).deletingLastPathComponent().appendingPathComponent(base).path
    // Short: a libvirt lab's daemons put sockets 70 characters deep under it, and a UNIX socket's
    // path may not pass 107 (`-calibration-` made clusters/libvirt-lab.yaml's reach 113).
    let root = folder + "-cal-" + UUID().uuidString.prefix(6).lowercased()
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    return root
  }
}

/// Collects the pre-copy rounds the engine reports.
final class RoundRecorder: Sendable {
  private let recorded = Mutex<[PreCopyRound]>([])

  var rounds: [PreCopyRound] { recorded.withLock { $0 } }

  func take(_ event: EngineEvent) {
    guard event.type == .progress, let index = event.figures.round else { return }
    let figures = event.figures
    let bytes = figures.bytesSent ?? 0
    let rate = figures.bandwidthBytesPerSecond ?? 0
    recorded.withLock {
      $0.append(
        PreCopyRound(
          index: index, bytesSent: bytes, bytesDirtied: figures.bytesDirtied ?? 0,
          remaining: figures.remaining ?? 0, seconds: rate > 0 ? bytes / rate : 0, bandwidthBytesPerSecond: rate,
          throttle: figures.throttle ?? 0))
    }
  }
}
