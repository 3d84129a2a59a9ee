import BallastEngine
import BallastModel

/// One migration of a calibration point: the cost model's prediction and what it measured.
public struct CalibrationMigration: Sendable, Hashable, Codable {
  /// 1 for the first migration of the point's VM.
  public var number: Int
  public var from: String
  public var to: String
  /// The whole move as planned (setup, transfer, pause, finish), and as measured.
  public var predicted: PredictedCost
  public var measured: MeasuredCost?
  /// The transfer alone (pre-copy and pause): the model's and the hypervisor's own figure.
  public var predictedTransferSeconds: Double
  public var measuredTransferSeconds: Double?
  /// How many of the model's figures for this VM and link were learned.
  public var learnedFigures: Int
  /// Pre-copy rounds as the hypervisor reported them.
  public var rounds: [PreCopyRound]
  /// The highest auto-converge throttle the hypervisor applied.
  public var throttle: Double?
  /// Why it did not complete, when it did not.
  public var failure: String?
  /// What the engine measured for the learner.
  public var observation: MigrationObservation?

  /// (predicted − measured) ÷ measured, of the transfer.
  public var transferError: Double? {
    measuredTransferSeconds.flatMap { $0 > 0 ? (predictedTransferSeconds - $0) / $0 : nil }
  }

  /// (predicted − measured) ÷ measured, of the whole move.
  public var totalError: Double? {
    measured.flatMap { $0.seconds > 0 ? (predicted.seconds - $0.seconds) / $0.seconds : nil }
  }

  /// Predicted − measured pause (the guest's outage, where the driver tells it), milliseconds.
  public var downtimeErrorMs: Double? { measured.map { predicted.downtimeMs - $0.downtimeMs } }

  /// The hypervisor's own downtime (QEMU's: from the stop until the last byte left the
  /// source), milliseconds, when the driver reported it.
  public var hypervisorDowntimeMs: Double? {
    measured == nil ? nil : observation?.hypervisorDowntimeSeconds.map { $0 * 1000 }
  }

  /// Predicted pause − the hypervisor's own downtime, milliseconds.
  public var hypervisorDowntimeErrorMs: Double? { hypervisorDowntimeMs.map { predicted.downtimeMs - $0 } }
}

/// One point of the grid: a VM with one dirty rate, migrated under one cap.
public struct CalibrationPoint: Sendable, Hashable, Codable {
  public var dirtyRate: Bandwidth
  public var bandwidthCap: Bandwidth?
  public var migrations: [CalibrationMigration]
  /// Why the point could not run, when it could not.
  public var failure: String?
}

/// Everything a calibration run measured.
public struct CalibrationReport: Sendable, Hashable, Codable {
  /// The lab's cluster name and kind.
  public var lab: String
  public var driver: DriverKind
  public var settings: CalibrationSettings
  /// The link's rate the grid ran with (measured, or as given).
  public var linkRate: Bandwidth
  public var points: [CalibrationPoint]
  /// What about the machine the lab ran on bears on the figures (``MachineMemoryNote``).
  public var machineNotes: [String] = []

  /// The migrations with number `n` (1: before learning), completed.
  public func migrations(number n: Int) -> [CalibrationMigration] {
    points.compactMap { point in point.migrations.first { $0.number == n && $0.measured != nil } }
  }

  /// The migrations after the first of each point, completed.
  public var learnedMigrations: [CalibrationMigration] {
    points.flatMap { $0.migrations.filter { $0.number > 1 && $0.measured != nil } }
  }
}
