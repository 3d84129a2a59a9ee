import BallastModel
import Foundation

/// `ballast history --accuracy`: the cost model's errors, as a table or JSON.
enum AccuracyText {
  struct SummaryJSON: Encodable {
    var count: Int
    var meanAbsolute: Double
    var p50: Double
    var p90: Double
    var bias: Double

    init(_ s: ErrorSummary, decimals: Int = 4) {
      count = s.count
      meanAbsolute = JSONOutput.rounded(s.meanAbsolute, decimals)
      p50 = JSONOutput.rounded(s.p50, decimals)
      p90 = JSONOutput.rounded(s.p90, decimals)
      bias = JSONOutput.rounded(s.bias, decimals)
    }
  }

  struct FiguresJSON: Encodable {
    var migrations: Int
    /// Relative errors: 0.05 is 5 %.
    var totalTime: SummaryJSON
    var downtime: SummaryJSON
    /// Milliseconds.
    var downtimeMs: SummaryJSON
    var bytes: SummaryJSON

    init(_ f: AccuracyFigures) {
      migrations = f.migrations
      totalTime = SummaryJSON(f.totalTime)
      downtime = SummaryJSON(f.downtime)
      downtimeMs = SummaryJSON(f.downtimeMs, decimals: 1)
      bytes = SummaryJSON(f.bytes)
    }
  }

  struct StageJSON: Encodable {
    var migration: String
    var from: Int
    var to: Int?
    var figures: FiguresJSON
  }

  struct ReportJSON: Encodable {
    var overall: FiguresJSON
    var byKind: [String: FiguresJSON]
    var byMigration: [StageJSON]
  }

  static func json(_ report: PredictionAccuracy) -> ReportJSON {
    ReportJSON(
      overall: FiguresJSON(report.overall),
      byKind: Dictionary(uniqueKeysWithValues: report.byKind.map { ($0.key.rawValue, FiguresJSON($0.value)) }),
      byMigration: report.byMigration.map {
        StageJSON(migration: $0.label, from: $0.fromOrdinal, to: $0.toOrdinal, figures: FiguresJSON($0.figures))
      })
  }

  static func text(_ report: PredictionAccuracy, path: String) -> String {
    guard report.overall.migrations > 0 else { return "No completed migrations recorded in \(path) match." }
    func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
    func signed(_ x: Double) -> String { String(format: "%+.1f%%", x * 100) }
    func ms(_ x: Double) -> String { String(format: "%.0fms", x) }
    var table = TextTable([
      "MIGRATIONS", "N", "TIME |ERR| p50 p90 BIAS", "DOWNTIME |ERR| p90 BIAS", "BYTES |ERR| BIAS",
    ])
    func add(_ label: String, _ f: AccuracyFigures) {
      table.add([
        label, "\(f.migrations)",
        "\(pct(f.totalTime.meanAbsolute)) \(pct(f.totalTime.p50)) \(pct(f.totalTime.p90)) \(signed(f.totalTime.bias))",
        "\(ms(f.downtimeMs.meanAbsolute)) \(ms(f.downtimeMs.p90)) \(String(format: "%+.0fms", f.downtimeMs.bias))",
        "\(pct(f.bytes.meanAbsolute)) \(signed(f.bytes.bias))",
      ])
    }
    add("all", report.overall)
    for kind in MigrationKind.allCases {
      if let f = report.byKind[kind] { add(kind.rawValue, f) }
    }
    for stage in report.byMigration { add("VM's \(stage.label)", stage.figures) }
    return [
      "Cost model accuracy over \(report.overall.migrations) completed migration"
        + "\(report.overall.migrations == 1 ? "" : "s") (error = predicted − measured; a positive bias: "
        + "predictions too high):",
      "",
      table.render(),
      "",
      "A VM's first migration is predicted from the cluster file; later ones use what its earlier migrations "
        + "taught (unless the policy says model.learn: false).",
    ].joined(separator: "\n")
  }
}
