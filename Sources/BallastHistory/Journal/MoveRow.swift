import BallastEngine
import BallastModel
import GRDB

/// The columns of a `moves` row that describe the planned move, both ways.
enum MoveRow {
  /// Named arguments for the move columns (`:vm`, `:from_host`, …).
  static func arguments(_ move: PlannedMove) throws -> [String: DatabaseValue] {
    let values: [String: any DatabaseValueConvertible] = [
      "vm": move.vm,
      "from_host": move.from,
      "to_host": move.to,
      "kind": move.kind.rawValue,
      "reason": move.reason,
      "requires_shutdown": move.requiresShutdown,
      "score": try JSONColumn.encode(move.score),
      "disks_to_copy": try JSONColumn.encode(move.disksToCopy.map(StoredDisk.init)),
      "depends_on": try JSONColumn.encode(move.dependsOn),
      "planned_start_seconds": move.plannedStartSeconds,
      "predicted_seconds": move.predicted.seconds,
      "predicted_downtime_ms": move.predicted.downtimeMs,
      "predicted_bytes": move.predicted.bytes,
      "predicted_rounds": move.predicted.rounds,
      "predicted_converges": move.predicted.converges,
      "predicted_throttle": move.predicted.throttle,
    ]
    return values.mapValues(\.databaseValue)
  }

  static let columns = [
    "vm", "from_host", "to_host", "kind", "reason", "requires_shutdown", "score", "disks_to_copy", "depends_on",
    "planned_start_seconds", "predicted_seconds", "predicted_downtime_ms", "predicted_bytes", "predicted_rounds",
    "predicted_converges", "predicted_throttle",
  ]

  static func insert(
    _ db: Database, plan: PlanID, position: Int, move: PlannedMove, startedAt: Double?
  ) throws
    -> MoveID
  {
    var arguments = try Self.arguments(move)
    arguments["plan_id"] = plan.databaseValue
    arguments["position"] = position.databaseValue
    arguments["started_at"] = startedAt.databaseValue
    let names = ["plan_id", "position", "started_at"] + columns
    try db.execute(
      sql:
        "INSERT INTO moves (\(names.joined(separator: ", "))) VALUES (\(names.map { ":" + $0 }.joined(separator: ", ")))",
      arguments: StatementArguments.named(arguments))
    return db.lastInsertedRowID
  }

  static func update(_ db: Database, id: MoveID, move: PlannedMove, startedAt: Double) throws {
    var arguments = try Self.arguments(move)
    arguments["id"] = id.databaseValue
    arguments["started_at"] = startedAt.databaseValue
    let assignments = (["started_at"] + columns).map { "\($0) = :\($0)" }.joined(separator: ", ")
    try db.execute(
      sql: "UPDATE moves SET \(assignments) WHERE id = :id", arguments: StatementArguments.named(arguments))
  }

  /// The planned move a `moves` row describes.
  static func plannedMove(_ row: Row) throws -> PlannedMove {
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

/// A stored value this version of Ballast cannot read (the database was edited by hand, or
/// written by a newer version).
struct DecodingFailure: Error, CustomStringConvertible {
  var column: String
  var value: String

  init(_ column: String, _ value: String) {
    self.column = column
    self.value = value
  }

  var description: String { "unexpected value \(value) in \(column)" }
}

extension StatementArguments {
  /// Named arguments from database values.
  static func named(_ values: [String: DatabaseValue]) -> StatementArguments {
    StatementArguments(values.mapValues { $0 as (any DatabaseValueConvertible)? })
  }
}
