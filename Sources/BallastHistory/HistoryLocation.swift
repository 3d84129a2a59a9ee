/// Where the history database lives: `--db PATH`, else `BALLAST_DB`, else `ballast.sqlite`.
public enum HistoryLocation {
  /// The file name used when neither `--db` nor `BALLAST_DB` is given (in the working directory).
  public static let defaultFileName = "ballast.sqlite"
  /// The environment variable naming the database file.
  public static let environmentVariable = "BALLAST_DB"

  /// The database path for a `--db` option value and an environment.
  public static func path(option: String?, environment: [String: String]) -> String {
    if let option, !option.isEmpty { return option }
    if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
      return fromEnvironment
    }
    return defaultFileName
  }
}
