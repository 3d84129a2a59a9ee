import ArgumentParser
import BallastModel

/// Reads command-line values that carry units or ranges, refusing what is out of range with
/// the range in the message (a usage error, exit 64): the same ``Limits`` the files obey.
enum FlagValue {
  /// `text` (`60s`, `5m`) as a time within `range`.
  static func timeSpan(_ text: String, flag: String, in range: ClosedRange<TimeSpan>) throws -> TimeSpan {
    guard let value = TimeSpan(parsing: text) else {
      throw ValidationError("\(flag): expected a time like 60s or 5m \(range.phrase), got \(SafeName.quoted(text))")
    }
    guard range.contains(value) else {
      throw ValidationError("\(flag): expected a time \(range.phrase), got \(SafeName.quoted(text))")
    }
    return value
  }

  /// `text` (`8MB/s`) as a rate within `range`.
  static func bandwidth(_ text: String, flag: String, in range: ClosedRange<Bandwidth>) throws -> Bandwidth {
    guard let value = Bandwidth(parsing: text), range.contains(value) else {
      throw ValidationError("\(flag): expected a rate like 8MB/s \(range.phrase), got \(SafeName.quoted(text))")
    }
    return value
  }

  /// `text` (`16MiB`) as a size within `range`.
  static func bytes(_ text: String, flag: String, in range: ClosedRange<ByteCount>) throws -> ByteCount {
    guard let value = ByteCount(parsing: text), range.contains(value) else {
      throw ValidationError("\(flag): expected a size like 16MiB \(range.phrase), got \(SafeName.quoted(text))")
    }
    return value
  }

  /// Refuses a number that is not finite or not within `range`.
  static func check(_ value: Double, flag: String, in range: ClosedRange<Double>, what: String) throws {
    guard value.isFinite, range.contains(value) else {
      throw ValidationError("\(flag): expected \(what) \(range.phrase), got \(value)")
    }
  }

  /// Refuses a count not within `range`.
  static func check(_ value: Int, flag: String, in range: ClosedRange<Int>) throws {
    guard range.contains(value) else {
      throw ValidationError("\(flag): expected a whole number \(range.phrase), got \(value)")
    }
  }
}
