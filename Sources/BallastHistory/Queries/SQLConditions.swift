/// The `WHERE` clause of a filtered query, built from optional filters, with its arguments.
struct SQLConditions {
  private var clauses: [String] = []
  /// Arguments of the clauses, in order; append those of later `?` (a `LIMIT`) after them.
  var arguments: [SQLValue] = []

  /// Adds `clause` (with one `?`) when `value` is given.
  mutating func add(_ clause: String, _ value: (any SQLArgument)?) {
    guard let value else { return }
    clauses.append(clause)
    arguments.append(value.sqlValue)
  }

  /// Adds `clause` (with as many `?` as `values`).
  mutating func add(_ clause: String, values: [any SQLArgument]) {
    clauses.append(clause)
    arguments += values.map(\.sqlValue)
  }

  /// Adds `clause` (without arguments) when `condition` holds.
  mutating func add(_ clause: String, when condition: Bool) {
    if condition { clauses.append(clause) }
  }

  /// `WHERE a AND b …`, or an empty string when nothing filters.
  var whereClause: String { clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ") }
}
