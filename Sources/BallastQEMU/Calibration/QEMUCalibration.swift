import BallastDriverSupport
import BallastEngine
import BallastModel
import Foundation
import Logging

/// What the calibration migrates, and over which grid.
public struct CalibrationSettings: Sendable, Hashable {
  /// Memory of the migrated VM.
  public var vmMemory: ByteCount = .mib(64)
  /// Working set the guest fills at boot and keeps rewriting.
  public var workingSet: ByteCount = .mib(16)
  /// Dirty rates the guest is set to (`rate=`), one row group each.
  public var dirtyRates: [Bandwidth] = [0, 4, 8, 16, 32].map { .mbPerSecond($0) }
  /// Bandwidth caps (`max-bandwidth`), one row each.
  public var bandwidthCaps: [Bandwidth] = [16, 32, 64].map { .mbPerSecond($0) }
  public var downtimeLimit: TimeSpan = .milliseconds(100)
  public var convergence = Convergence()
  /// How long the guest runs before it is measured and migrated.
  public var warmUp: TimeSpan = .seconds(1.5)
  /// Directory for the calibration's throwaway labs (keep it short: QMP socket paths).
  public var labRoot: String = "/tmp/ballast-bench"

  public init() {}
}

/// One migration of the calibration grid: the cost model's predictions and QEMU's figures.
public struct CalibrationPoint: Sendable, Hashable, Codable {
  /// Rate the guest was set to dirty memory at, bytes/s.
  public var configuredDirtyRate: Double
  /// Rate QEMU measured before the migration (`calc-dirty-rate`), bytes/s: the model's D.
  public var measuredDirtyRate: Double
  public var bandwidthCap: Double
  /// Guest memory that holds data (QEMU's resident memory minus a blank VM's), bytes.
  public var residentGuestBytes: Double
  /// The model as the planner runs it: M = the VM's allocated memory.
  public var predicted: LivePrediction
  /// The model with M = the guest's resident memory (zero pages cost almost nothing).
  public var predictedResident: LivePrediction
  /// The model with M = resident memory and D = the configured rate: what the model does
  /// with true inputs (QEMU's measurement counts a page once per second, so it cannot see a
  /// rate above working set ÷ 1 s).
  public var predictedTrueRate: LivePrediction
  public var measured: TransferResult?
  /// Why the migration did not complete, when it did not.
  public var failure: String?

  /// (predicted − measured) ÷ measured total time, for the plain model.
  public var totalError: Double? { measured.map { relativeError(predicted.totalSeconds, $0.totalSeconds) } }
  /// The same for the resident-memory model.
  public var totalErrorResident: Double? {
    measured.map { relativeError(predictedResident.totalSeconds, $0.totalSeconds) }
  }
  /// The same for the model with true inputs.
  public var totalErrorTrueRate: Double? {
    measured.map { relativeError(predictedTrueRate.totalSeconds, $0.totalSeconds) }
  }

  private func relativeError(_ predicted: Double, _ measured: Double) -> Double {
    measured > 0 ? (predicted - measured) / measured : 0
  }
}

/// Runs real QEMU live migrations over a grid of dirty rates × bandwidth caps and sets the
/// pre-copy model's predictions (``PreCopyRun/predict(_:bandwidth:)``) next to what QEMU
/// measured. `ballast bench` calls it; `scripts/qemu-bench.sh` runs it without the CLI.
public enum QEMUCalibration {
  /// Migrates one VM per grid point (each in a throwaway two-host lab) and reports every
  /// point to `onPoint` as it finishes. Failures of single points are recorded, not thrown.
  public static func run(
    _ settings: CalibrationSettings, options: QEMULabOptions, logger: Logger,
    onPoint: @Sendable (CalibrationPoint) async -> Void = { _ in }
  ) async throws -> [CalibrationPoint] {
    let baseline = try await blankResidentBytes(settings, options: options, logger: logger)
    var points: [CalibrationPoint] = []
    for rate in settings.dirtyRates {
      for cap in settings.bandwidthCaps {
        let point = try await migrate(
          rate: rate, cap: cap, baseline: baseline, settings: settings, options: options, logger: logger)
        points.append(point)
        await onPoint(point)
      }
    }
    return points
  }

  /// Resident memory of a QEMU whose guest touched nothing: QEMU's own share.
  static func blankResidentBytes(
    _ settings: CalibrationSettings, options: QEMULabOptions, logger: Logger
  )
    async throws -> Double
  {
    let vm = VM(
      name: "blank", host: "bench-a", vcpus: 1, memory: settings.vmMemory, cpuModel: "qemu64",
      usage: Usage(cpu: 0, memory: 0), dirtyRate: .zero, workingSet: .zero)
    return try await withLab(vm, settings: settings, options: options, logger: logger) { lab, _ in
      _ = try await lab.waitForGuest(vm: "blank", on: "bench-a")
      try await Task.sleep(for: .seconds(settings.warmUp.seconds))
      guard let instance = lab.instance(vm: "blank", on: "bench-a"), let sample = ProcessInspector.sample(instance.pid)
      else { throw DriverError(vm: "blank", "the blank VM is gone") }
      return Double(sample.residentBytes)
    }
  }

  static func migrate(
    rate: Bandwidth, cap: Bandwidth, baseline: Double, settings: CalibrationSettings, options: QEMULabOptions,
    logger: Logger
  ) async throws -> CalibrationPoint {
    let name = "bench"
    let vm = VM(
      name: name, host: "bench-a", vcpus: 1, memory: settings.vmMemory, cpuModel: "qemu64",
      usage: Usage(cpu: 1, memory: 0), dirtyRate: rate, workingSet: settings.workingSet)
    return try await withLab(vm, settings: settings, options: options, logger: logger) { lab, driver in
      _ = try await lab.waitForGuest(vm: name, on: "bench-a")
      try await Task.sleep(for: .seconds(settings.warmUp.seconds))
      let measuredRate = try await driver.measureDirtyRate(vm: name).bytesPerSecond
      let resident =
        lab.instance(vm: name, on: "bench-a").flatMap { ProcessInspector.sample($0.pid) }
        .map { max(Double($0.residentBytes) - baseline, 0) } ?? settings.vmMemory.double
      func prediction(memory: Double, rate: Double = measuredRate) -> LivePrediction {
        let parameters = PreCopyParameters(
          memory: ByteCount(Int64(memory)), dirtyRate: Bandwidth(bytesPerSecond: rate),
          workingSet: settings.workingSet, downtimeLimit: settings.downtimeLimit, convergence: settings.convergence)
        return PreCopyRun.predict(parameters, bandwidth: cap)
      }
      var point = CalibrationPoint(
        configuredDirtyRate: rate.bytesPerSecond, measuredDirtyRate: measuredRate, bandwidthCap: cap.bytesPerSecond,
        residentGuestBytes: resident, predicted: prediction(memory: settings.vmMemory.double),
        predictedResident: prediction(memory: min(resident, settings.vmMemory.double)),
        predictedTrueRate: prediction(memory: min(resident, settings.vmMemory.double), rate: rate.bytesPerSecond),
        measured: nil, failure: nil)
      let request = MigrationRequest(vm: name, from: "bench-a", to: "bench-b", kind: .live)
      let live = LiveSettings(
        downtimeLimit: settings.downtimeLimit, bandwidthCap: cap, convergence: settings.convergence)
      let reservation = try await driver.reserve(request)
      do {
        point.measured = try await driver.transfer(reservation, settings: live) { _ in }
        try await driver.commit(reservation)
        try await driver.activate(reservation)
      } catch {
        point.failure = "\(error)"
        try? await driver.release(reservation)
      }
      logger.info(
        "calibration point",
        metadata: [
          "rate": "\(rate)", "cap": "\(cap)", "predicted": "\(point.predicted.totalSeconds)",
          "measured": "\(point.measured?.totalSeconds ?? -1)",
        ])
      return point
    }
  }

  /// Runs `body` in a fresh two-host lab holding `vm`, removed afterwards.
  static func withLab<T: Sendable>(
    _ vm: VM, settings: CalibrationSettings, options: QEMULabOptions, logger: Logger,
    _ body: (QEMULab, QEMUDriver) async throws -> T
  ) async throws -> T {
    let root = settings.labRoot + "/" + UUID().uuidString.prefix(6).lowercased()
    let hosts = ["bench-a", "bench-b"].map {
      Host(
        name: $0, cores: 2, memory: .gib(1), cpuModel: "qemu64", migrationBandwidth: .gbit(1),
        datastores: ["shared"])
    }
    let cluster = Cluster(
      name: "bench", driver: .qemu, labRoot: root, datastores: [Datastore(name: "shared", shared: true)],
      hosts: hosts, vms: [vm])
    let lab = try QEMULab(cluster: cluster, baseDirectory: settings.labRoot, options: options, logger: logger)
    let driver = QEMUDriver(lab: lab, logger: logger)
    do {
      try await lab.up()
      let result = try await body(lab, driver)
      try await lab.down(removeFiles: true)
      return result
    } catch {
      try? await lab.down(removeFiles: true)
      throw error
    }
  }

  /// The grid as a table: QEMU's figures, then each model variant's prediction and error.
  public static func table(_ points: [CalibrationPoint]) -> String {
    func pad(_ text: String, _ width: Int) -> String {
      String(repeating: " ", count: max(width - text.count, 0)) + text
    }
    func number(_ value: Double, _ decimals: Int, _ width: Int) -> String {
      pad(String(format: "%.\(decimals)f", value), width)
    }
    func pct(_ value: Double?) -> String { pad(value.map { String(format: "%+.0f%%", $0 * 100) } ?? "—", 6) }
    func model(_ p: LivePrediction, _ error: Double?) -> String {
      number(p.totalSeconds, 2, 6) + number(p.downtimeSeconds * 1000, 0, 5) + pad(String(p.rounds), 3) + pct(error)
    }
    var lines = [
      "    guest     |  QEMU measured         | model M=alloc D=meas  | model M=res D=meas    | model M=res D=set",
      "D set D meas   cap   res | total  down  r thr | total down  r   err | total down  r   err | total down  r   err",
      " MB/s   MB/s  MB/s    MB |     s    ms      % |     s   ms         |     s   ms         |     s   ms",
    ]
    for p in points {
      let measured =
        p.measured.map {
          number($0.totalSeconds, 2, 6) + number($0.downtimeMs, 0, 5) + pad(String($0.rounds), 3)
            + number($0.throttle * 100, 0, 4)
        } ?? pad("failed", 18)
      let row: [String] = [
        number(p.configuredDirtyRate / 1e6, 1, 5), number(p.measuredDirtyRate / 1e6, 1, 6),
        number(p.bandwidthCap / 1e6, 0, 5), number(p.residentGuestBytes / 1e6, 1, 5), "|", measured, "|",
        model(p.predicted, p.totalError), "|", model(p.predictedResident, p.totalErrorResident), "|",
        model(p.predictedTrueRate, p.totalErrorTrueRate),
      ]
      lines.append(row.joined(separator: " "))
    }
    return lines.joined(separator: "\n")
  }

  /// Mean and largest absolute error on total time of each model variant, over completed points.
  public static func summary(_ points: [CalibrationPoint]) -> String {
    func stats(_ values: [Double]) -> String {
      guard !values.isEmpty else { return "no completed migrations" }
      let mean = values.reduce(0, +) / Double(values.count)
      return String(format: "mean |error| %.0f%%, max %.0f%%", mean * 100, (values.max() ?? 0) * 100)
    }
    let downtimes = points.compactMap { p in
      p.measured.map { abs(p.predictedResident.downtimeSeconds * 1000 - $0.downtimeMs) }
    }
    let failed = points.filter { $0.measured == nil }.count
    return "total time, M = allocated memory, D measured: \(stats(points.compactMap(\.totalError).map(abs)))\n"
      + "total time, M = resident memory,  D measured: \(stats(points.compactMap(\.totalErrorResident).map(abs)))\n"
      + "total time, M = resident memory,  D set:      \(stats(points.compactMap(\.totalErrorTrueRate).map(abs)))\n"
      + String(
        format: "downtime, M = resident memory: mean |error| %.0f ms, max %.0f ms\n",
        downtimes.isEmpty ? 0 : downtimes.reduce(0, +) / Double(downtimes.count), downtimes.max() ?? 0)
      + "\(points.count - failed) of \(points.count) migrations completed"
  }
}
