/// One completed migration, predicted and measured: what the accuracy report is made of.
public struct AccuracySample: Sendable, Hashable, Codable {
  public var vm: String
  public var kind: MigrationKind
  /// When it ended (seconds since the Unix epoch).
  public var at: Double
  /// Its place among the VM's completed migrations, oldest first (1: the VM's first).
  public var ordinal: Int
  public var predictedSeconds: Double
  public var measuredSeconds: Double
  public var predictedDowntimeMs: Double
  public var measuredDowntimeMs: Double
  public var predictedBytes: Double
  public var measuredBytes: Double

  public init(
    vm: String, kind: MigrationKind, at: Double, ordinal: Int, predictedSeconds: Double, measuredSeconds: Double,
    predictedDowntimeMs: Double, measuredDowntimeMs: Double, predictedBytes: Double, measuredBytes: Double
  ) {
    self.vm = vm
    self.kind = kind
    self.at = at
    self.ordinal = ordinal
    self.predictedSeconds = predictedSeconds
    self.measuredSeconds = measuredSeconds
    self.predictedDowntimeMs = predictedDowntimeMs
    self.measuredDowntimeMs = measuredDowntimeMs
    self.predictedBytes = predictedBytes
    self.measuredBytes = measuredBytes
  }
}

/// How far predictions were from measurements, for one figure: relative errors
/// (predicted − measured) ÷ measured, or absolute ones (downtime in milliseconds).
public struct ErrorSummary: Sendable, Hashable, Codable {
  /// Migrations it is over.
  public var count: Int
  /// Mean of |error|.
  public var meanAbsolute: Double
  /// Median and 90th percentile of |error|.
  public var p50: Double
  public var p90: Double
  /// Mean of the signed error: above 0, predictions are too high (pessimistic).
  public var bias: Double

  /// The summary of `errors` (an empty one when there are none).
  public init(_ errors: [Double]) {
    let finite = errors.filter(\.isFinite)
    count = finite.count
    guard !finite.isEmpty else {
      (meanAbsolute, p50, p90, bias) = (0, 0, 0, 0)
      return
    }
    let absolute = finite.map(abs).sorted()
    meanAbsolute = absolute.reduce(0, +) / Double(count)
    bias = finite.reduce(0, +) / Double(count)
    p50 = Self.percentile(absolute, 0.5)
    p90 = Self.percentile(absolute, 0.9)
  }

  /// The `q` quantile of sorted `values`, interpolated.
  static func percentile(_ values: [Double], _ q: Double) -> Double {
    guard let last = values.indices.last else { return 0 }
    let position = q * Double(last)
    let low = Int(position.rounded(.down))
    let high = min(low + 1, last)
    let fraction = position - Double(low)
    return values[low] + (values[high] - values[low]) * fraction
  }
}

/// The errors of one set of migrations, figure by figure.
public struct AccuracyFigures: Sendable, Hashable, Codable {
  public var migrations: Int
  /// Total time, relative.
  public var totalTime: ErrorSummary
  /// The outage, relative (migrations with a measured outage only).
  public var downtime: ErrorSummary
  /// The outage, in milliseconds.
  public var downtimeMs: ErrorSummary
  /// Bytes sent, relative.
  public var bytes: ErrorSummary

  public init(_ samples: [AccuracySample]) {
    func relative(_ predicted: Double, _ measured: Double) -> Double {
      measured > 0 ? (predicted - measured) / measured : .nan
    }
    migrations = samples.count
    totalTime = ErrorSummary(samples.map { relative($0.predictedSeconds, $0.measuredSeconds) })
    downtime = ErrorSummary(samples.map { relative($0.predictedDowntimeMs, $0.measuredDowntimeMs) })
    downtimeMs = ErrorSummary(samples.map { $0.predictedDowntimeMs - $0.measuredDowntimeMs })
    bytes = ErrorSummary(samples.map { relative($0.predictedBytes, $0.measuredBytes) })
  }
}

/// A group of migrations by how many the VM had before: how accuracy changed as the model learned.
public struct AccuracyStage: Sendable, Hashable, Codable {
  /// `1st`, `2nd`, `3rd`, `4th–9th`, `10th and later`.
  public var label: String
  public var fromOrdinal: Int
  public var toOrdinal: Int?
  public var figures: AccuracyFigures
}

/// The cost model's accuracy over recorded migrations: overall, per kind, and by the VM's
/// migration number (the first ones are predicted from the file, later ones from what earlier
/// ones taught).
public struct PredictionAccuracy: Sendable, Hashable, Codable {
  public var overall: AccuracyFigures
  public var byKind: [MigrationKind: AccuracyFigures]
  public var byMigration: [AccuracyStage]

  /// The report of `samples`.
  public init(_ samples: [AccuracySample]) {
    overall = AccuracyFigures(samples)
    var byKind: [MigrationKind: AccuracyFigures] = [:]
    for kind in MigrationKind.allCases {
      let some = samples.filter { $0.kind == kind }
      if !some.isEmpty { byKind[kind] = AccuracyFigures(some) }
    }
    self.byKind = byKind
    let stages: [(String, Int, Int?)] = [
      ("1st", 1, 1), ("2nd", 2, 2), ("3rd", 3, 3), ("4th–9th", 4, 9), ("10th and later", 10, nil),
    ]
    byMigration = stages.compactMap { label, from, to in
      let some = samples.filter { $0.ordinal >= from && $0.ordinal <= (to ?? .max) }
      return some.isEmpty
        ? nil : AccuracyStage(label: label, fromOrdinal: from, toOrdinal: to, figures: AccuracyFigures(some))
    }
  }
}
