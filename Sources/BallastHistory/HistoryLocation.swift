/// Where the history database lives: `--db PATH|URL`, else `BALLAST_DB`, else `ballast.sqlite`.
public enum HistoryLocation {
  /// The file name used when neither `--db` nor `BALLAST_DB` is given (in the working directory).
  public static let defaultFileName = "ballast.sqlite"
  /// The environment variable naming the database file or URL.
  public static let environmentVariable = "BALLAST_DB"

  /// The database path or URL for a `--db` option value and an environment.
  public static func path(option: String?, environment: [String: String]) -> String {
    if let option, !option.isEmpty { return option }
    if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
      return fromEnvironment
    }
    return defaultFileName
  }
}

/// A history database: an SQLite file, or a PostgreSQL database several Ballast instances share.
public enum HistoryTarget: Sendable, Hashable, CustomStringConvertible {
  /// An SQLite file (created when missing).
  case sqlite(path: String)
  /// A PostgreSQL database (`postgresql://user@host:port/db?sslmode=…`).
  case postgres(PostgresURL)

  /// The two kinds of history database.
  public enum Backend: String, Sendable, Hashable, Codable {
    case sqlite
    case postgres
  }

  /// The target `text` names: a `postgresql://` (or `postgres://`) URL, or else a file path.
  /// - Throws: ``HistoryError`` for a URL that cannot be used (with what to write instead).
  public init(_ text: String, environment: [String: String]) throws {
    if PostgresURL.looksLikeURL(text) {
      self = .postgres(try PostgresURL(text, environment: environment))
    } else {
      self = .sqlite(path: text)
    }
  }

  public var backend: Backend {
    switch self {
    case .sqlite: .sqlite
    case .postgres: .postgres
    }
  }

  /// The file, or the URL without a password.
  public var description: String {
    switch self {
    case .sqlite(let path): path
    case .postgres(let url): url.description
    }
  }
}
