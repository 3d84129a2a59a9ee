import ArgumentParser
import BallastHistory
import Foundation

/// `--db PATH`: the history database, else `$BALLAST_DB`, else `./ballast.sqlite`.
struct DatabaseOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "History database (SQLite). Default: $\(HistoryLocation.environmentVariable), else ./\(HistoryLocation.defaultFileName).",
      valueName: "path"))
  var db: String?

  /// The database path after `--db` and the environment.
  var path: String { HistoryLocation.path(option: db, environment: ProcessInfo.processInfo.environment) }

  /// Opens an existing history database read-only, for commands that only read it: works on
  /// a database this user may not write (another user's, mode 0444).
  func openExistingStore() throws -> HistoryStore {
    guard FileManager.default.fileExists(atPath: path) else {
      throw HistoryError(
        path: path, "no history database here",
        hint: "Ballast records one when it plans or migrates; run from that directory, or pass --db PATH "
          + "or set \(HistoryLocation.environmentVariable)")
    }
    return try HistoryStore(path: path, access: .readOnly)
  }
}
