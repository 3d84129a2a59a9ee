/// A value as both backends store it: SQLite's storage classes, which PostgreSQL's columns of
/// the history map onto (`BIGINT`, `DOUBLE PRECISION`, `TEXT`).
///
/// Booleans are integers 0 or 1 on both backends, so one query reads the same everywhere.
enum SQLValue: Sendable, Hashable {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)
}

/// A Swift value that can be a query argument.
protocol SQLArgument: Sendable {
  var sqlValue: SQLValue { get }
}

extension Int64: SQLArgument { var sqlValue: SQLValue { .integer(self) } }
extension Int: SQLArgument { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Int32: SQLArgument { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Double: SQLArgument { var sqlValue: SQLValue { .real(self) } }
extension String: SQLArgument { var sqlValue: SQLValue { .text(self) } }
extension Bool: SQLArgument { var sqlValue: SQLValue { .integer(self ? 1 : 0) } }
extension SQLValue: SQLArgument { var sqlValue: SQLValue { self } }

extension Optional: SQLArgument where Wrapped: SQLArgument {
  var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// A Swift value a column can be read as.
protocol SQLColumnValue {
  /// The value, or `nil` when `value` cannot be read as this type.
  init?(sqlValue value: SQLValue)
}

extension Int64: SQLColumnValue {
  init?(sqlValue value: SQLValue) {
    switch value {
    case .integer(let integer): self = integer
    case .real(let real) where real.rounded() == real && abs(real) < 9.2e18: self = Int64(real)
    default: return nil
    }
  }
}

extension Int: SQLColumnValue {
  init?(sqlValue value: SQLValue) {
    guard let integer = Int64(sqlValue: value) else { return nil }
    self = Int(integer)
  }
}

extension Int32: SQLColumnValue {
  init?(sqlValue value: SQLValue) {
    guard let integer = Int64(sqlValue: value), let narrow = Int32(exactly: integer) else { return nil }
    self = narrow
  }
}

extension Double: SQLColumnValue {
  init?(sqlValue value: SQLValue) {
    switch value {
    case .real(let real): self = real
    case .integer(let integer): self = Double(integer)
    default: return nil
    }
  }
}

extension String: SQLColumnValue {
  init?(sqlValue value: SQLValue) {
    guard case .text(let text) = value else { return nil }
    self = text
  }
}

extension Bool: SQLColumnValue {
  init?(sqlValue value: SQLValue) {
    guard let integer = Int64(sqlValue: value) else { return nil }
    self = integer != 0
  }
}

/// One row of a result, by column name (lower case, as both backends name them).
struct SQLRow: Sendable, Hashable {
  /// Column names in the order the query returned them.
  let columns: [String]
  let values: [SQLValue]

  init(columns: [String], values: [SQLValue]) {
    self.columns = columns
    self.values = values
  }

  /// The value of `column` (the first of that name), or `.null` when there is no such column.
  subscript(_ column: String) -> SQLValue {
    guard let index = columns.firstIndex(of: column) else { return .null }
    return values[index]
  }

  /// `column` read as `T` (an optional `T` reads `NULL` as `nil`).
  /// - Throws: ``DecodingFailure`` when the column is missing, or `NULL` or of another type
  ///   where `T` does not take it.
  func decode<T: SQLColumnValue>(_ type: T.Type = T.self, forColumn column: String) throws -> T {
    guard let index = columns.firstIndex(of: column) else { throw DecodingFailure(column, "no such column") }
    guard let decoded = T(sqlValue: values[index]) else { throw DecodingFailure(column, "\(values[index])") }
    return decoded
  }
}

extension Optional: SQLColumnValue where Wrapped: SQLColumnValue {
  init?(sqlValue value: SQLValue) {
    if value == .null {
      self = .none
      return
    }
    guard let wrapped = Wrapped(sqlValue: value) else { return nil }
    self = .some(wrapped)
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
