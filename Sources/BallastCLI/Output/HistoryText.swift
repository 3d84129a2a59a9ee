import BallastEngine
import BallastHistory
import BallastModel
import Foundation

/// The text `ballast history` prints: migrations, one migration's stages, plans.
enum HistoryText {
  /// Recent migrations: kind, from → to, predicted vs measured time and downtime, outcome, reason.
  static func migrations(_ records: [MigrationRecord]) -> String {
    var table = TextTable(
      ["ID", "STARTED (UTC)", "VM", "KIND", "FROM → TO", "TIME pred/meas", "DOWNTIME pred/meas", "OUTCOME", "REASON"],
      rightAligned: [0])
    for record in records {
      table.add([
        "\(record.id)",
        record.startedAt.map(timestamp) ?? "planned",
        record.vm,
        record.kind.rawValue + (record.requiresShutdown ? " (shutdown)" : ""),
        "\(record.from) → \(record.to)",
        "\(duration(record.predicted.seconds)) / \(record.measured.map { duration($0.seconds) } ?? "–")",
        "\(milliseconds(record.predicted.downtimeMs)) / \(record.measured.map { milliseconds($0.downtimeMs) } ?? "–")",
        record.status + (record.dryRun ? " (dry run)" : ""),
        record.reason,
      ])
    }
    return table.render()
  }

  /// One migration: what it was, predicted against measured, and each stage attempt.
  static func migration(_ detail: MigrationDetail) -> String {
    let m = detail.migration
    var lines: [String] = []
    lines.append(
      "Migration \(m.id): \(m.vm) \(m.kind.rawValue) \(m.from) → \(m.to) — \(m.status)"
        + (m.dryRun ? " (dry run)" : ""))
    lines.append("Plan \(m.plan) (\(m.trigger.rawValue) on cluster \(m.cluster)), move \(m.index)")
    lines.append("Reason: \(m.reason)")
    if let started = m.startedAt {
      let ended = m.endedAt.map { ", ended \(timestamp($0))" } ?? ", not ended"
      lines.append("Started \(timestamp(started))\(ended)")
    }
    var comparison = TextTable(["", "PREDICTED", "MEASURED"], rightAligned: [1, 2])
    comparison.add(["time", duration(m.predicted.seconds), m.measured.map { duration($0.seconds) } ?? "–"])
    comparison.add([
      "downtime", milliseconds(m.predicted.downtimeMs), m.measured.map { milliseconds($0.downtimeMs) } ?? "–",
    ])
    comparison.add(["sent", bytes(m.predicted.bytes), m.measured.map { bytes($0.bytes) } ?? "–"])
    comparison.add(["rounds", "\(m.predicted.rounds)", m.measured.map { "\($0.rounds)" } ?? "–"])
    lines.append("")
    lines.append(comparison.render())
    if let detailText = m.detail {
      lines.append("")
      lines.append("Detail: \(detailText)")
    }
    lines.append("")
    if detail.stages.isEmpty {
      lines.append("No stage recorded.")
    } else {
      var stages = TextTable(["#", "STAGE", "INTENT (UTC)", "ENDED (UTC)", "TOOK", "OUTCOME", "FIGURES / ERROR"])
      for stage in detail.stages {
        let took: String
        if let start = stage.intentAt, let end = stage.endedAt {
          took = duration(end - start)
        } else {
          took = ""
        }
        var notes: [String] = []
        if let figures = stage.figures { notes.append(figuresText(figures)) }
        if let error = stage.error { notes.append("error: \(error)") }
        stages.add([
          "\(stage.number)", stage.stage.rawValue, stage.intentAt.map(timestamp) ?? "(no intent)",
          stage.endedAt.map(timestamp) ?? "(not ended)", took, stage.outcome?.rawValue ?? "–",
          notes.joined(separator: "; "),
        ])
      }
      lines.append(stages.render())
    }
    return lines.joined(separator: "\n")
  }

  /// Plans with imbalance before → predicted after → measured after.
  static func plans(_ plans: [PlanRecord]) -> String {
    var table = TextTable(
      [
        "ID", "CREATED (UTC)", "TRIGGER", "CLUSTER", "POLICY", "IMBALANCE before → predicted → measured",
        "MOVES done/failed/planned", "NOTE",
      ], rightAligned: [0])
    for plan in plans {
      var notes: [String] = []
      if plan.dryRun { notes.append("dry run") }
      if let refusal = plan.refusal { notes.append("refused: \(refusal)") }
      if plan.endedAt == nil && !plan.dryRun { notes.append("not ended") }
      table.add([
        "\(plan.id)", timestamp(plan.createdAt), plan.trigger.rawValue, plan.cluster, plan.policy,
        "\(imbalance(plan.imbalanceBefore)) → \(imbalance(plan.imbalancePredictedAfter)) → "
          + (plan.imbalanceMeasuredAfter.map(imbalance) ?? "–"),
        "\(plan.completed)/\(plan.failed)/\(plan.moves)",
        notes.joined(separator: "; "),
      ])
    }
    return table.render()
  }

  static func figuresText(_ f: StageFigures) -> String {
    var parts: [String] = []
    if let round = f.round { parts.append("round \(round)") }
    if let sent = f.bytesSent { parts.append("sent \(bytes(sent))") }
    if let dirtied = f.bytesDirtied { parts.append("dirtied \(bytes(dirtied))") }
    if let remaining = f.remaining { parts.append("remaining \(bytes(remaining))") }
    if let rate = f.bandwidthBytesPerSecond { parts.append(Bandwidth(bytesPerSecond: rate).description) }
    if let downtime = f.downtimeMs { parts.append("downtime \(milliseconds(downtime))") }
    if let throttle = f.throttle, throttle > 0 { parts.append("throttle \(PlanRenderer.percent(throttle))") }
    if let checksum = f.checksum { parts.append("checksum \(checksum)") }
    if let note = f.note { parts.append(note) }
    return parts.joined(separator: ", ")
  }

  static func timestamp(_ seconds: Double) -> String {
    Date(timeIntervalSince1970: seconds).formatted(
      Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().dateSeparator(.dash).dateTimeSeparator(.space)
        .time(includingFractionalSeconds: false).timeSeparator(.colon))
  }

  static func duration(_ seconds: Double) -> String { TimeSpan(seconds: max(0, seconds)).description }
  static func milliseconds(_ ms: Double) -> String { TimeSpan.milliseconds(max(0, ms)).description }
  static func bytes(_ value: Double) -> String { ByteCount(clamping: value).description }
  static func imbalance(_ value: Double) -> String { String(format: "%.3f", value) }
}
