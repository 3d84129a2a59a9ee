import BallastEngine
import BallastModel

/// The columns of a `moves` row that describe the planned move, both ways.
enum MoveRow {
  /// The move columns' values, in the order of ``columns``.
  static func values(_ move: PlannedMove) throws -> [SQLValue] {
    [
      move.vm.sqlValue,
      move.from.sqlValue,
      move.to.sqlValue,
      move.kind.rawValue.sqlValue,
      move.reason.sqlValue,
      move.requiresShutdown.sqlValue,
      try JSONColumn.encode(move.score).sqlValue,
      try JSONColumn.encode(move.disksToCopy.map(StoredDisk.init)).sqlValue,
      try JSONColumn.encode(move.dependsOn).sqlValue,
      move.plannedStartSeconds.sqlValue,
      move.predicted.seconds.sqlValue,
      move.predicted.downtimeMs.sqlValue,
      move.predicted.bytes.sqlValue,
      move.predicted.rounds.sqlValue,
      move.predicted.converges.sqlValue,
      move.predicted.throttle.sqlValue,
    ]
  }

  static let columns = [
    "vm", "from_host", "to_host", "kind", "reason", "requires_shutdown", "score", "disks_to_copy", "depends_on",
    "planned_start_seconds", "predicted_seconds", "predicted_downtime_ms", "predicted_bytes", "predicted_rounds",
    "predicted_converges", "predicted_throttle",
  ]

  static func insert(
    _ tx: any SQLTransaction, plan: PlanID, position: Int, values: [SQLValue], startedAt: Double?, epoch: Int64?
  ) throws -> MoveID {
    let names = ["plan_id", "position", "started_at", "lease_epoch"] + columns
    let arguments = [plan.sqlValue, position.sqlValue, startedAt.sqlValue, epoch.sqlValue] + values
    let row = try tx.rows(
      """
      INSERT INTO moves (\(names.joined(separator: ", "))) VALUES (\(names.map { _ in "?" }.joined(separator: ", ")))
      RETURNING id
      """, arguments: arguments
    ).first
    guard let row else { throw DecodingFailure("moves.id", "none returned") }
    return try row.decode(forColumn: "id")
  }

  static func update(_ tx: any SQLTransaction, id: MoveID, values: [SQLValue], startedAt: Double, epoch: Int64?) throws
  {
    let assignments = (["started_at", "lease_epoch"] + columns).map { "\($0) = ?" }.joined(separator: ", ")
    try tx.execute(
      "UPDATE moves SET \(assignments) WHERE id = ?",
      arguments: [startedAt.sqlValue, epoch.sqlValue] + values + [id.sqlValue])
  }

  /// The planned move a `moves` row describes.
  static func plannedMove(_ row: SQLRow) throws -> PlannedMove {
    let kindText: String = try row.decode(forColumn: "kind")
    guard let kind = MigrationKind(rawValue: kindText) else {
      throw DecodingFailure("moves.kind", kindText)
    }
    let score = try JSONColumn.decode([ScoreTerm].self, from: try row.decode(forColumn: "score"))
    let disks = try JSONColumn.decode([StoredDisk].self, from: try row.decode(forColumn: "disks_to_copy"))
    let dependsOn = try JSONColumn.decode([Int].self, from: try row.decode(forColumn: "depends_on"))
    return PlannedMove(
      vm: try row.decode(forColumn: "vm"),
      from: try row.decode(forColumn: "from_host"),
      to: try row.decode(forColumn: "to_host"),
      kind: kind,
      reason: try row.decode(forColumn: "reason"),
      score: score,
      predicted: PredictedCost(
        seconds: try row.decode(forColumn: "predicted_seconds"),
        downtimeMs: try row.decode(forColumn: "predicted_downtime_ms"),
        bytes: try row.decode(forColumn: "predicted_bytes"),
        rounds: try row.decode(forColumn: "predicted_rounds"),
        converges: try row.decode(forColumn: "predicted_converges"),
        throttle: try row.decode(forColumn: "predicted_throttle")),
      requiresShutdown: try row.decode(forColumn: "requires_shutdown"),
      disksToCopy: disks.map(\.disk),
      dependsOn: dependsOn,
      plannedStartSeconds: try row.decode(forColumn: "planned_start_seconds"))
  }
}
