import ArgumentParser
import BallastHistory
import Foundation

/// `--db PATH`: the history database, else `$BALLAST_DB`, else `./ballast.sqlite`.
struct DatabaseOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "History database: an SQLite file, or postgresql://USER@HOST:PORT/DATABASE (password from PGPASSWORD "
        + "or ~/.pgpass). Default: $\(HistoryLocation.environmentVariable) (the systemd unit sets "
        + "/var/lib/ballast/ballast.sqlite), else ./\(HistoryLocation.defaultFileName) in the working directory.",
      valueName: "path|url"))
  var db: String?

  /// The database path or URL after `--db` and the environment.
  var path: String { HistoryLocation.path(option: db, environment: ProcessInfo.processInfo.environment) }

  /// The database `--db` names: an SQLite file or a PostgreSQL database.
  func target() throws -> HistoryTarget { try HistoryTarget(path, environment: ProcessInfo.processInfo.environment) }

  /// Opens an existing history database read-only, for commands that only read it: works on
  /// a database this user may not write (another user's, mode 0444, a read-only role).
  func openExistingStore() async throws -> HistoryStore {
    let target = try target()
    if case .sqlite(let file) = target, !FileManager.default.fileExists(atPath: file) {
      throw HistoryError(
        path: file, "no history database here",
        hint: "Ballast records one when it plans or migrates; run from that directory, or pass --db PATH "
          + "or set \(HistoryLocation.environmentVariable)")
    }
    return try await HistoryStore.open(target, access: .readOnly)
  }

  /// The history database when there is one (and it opens); `nil` otherwise. For commands that
  /// only read what it learned and must work without one.
  func existingStore() async -> HistoryStore? {
    guard let target = try? target() else { return nil }
    if case .sqlite(let file) = target, !FileManager.default.fileExists(atPath: file) { return nil }
    return try? await HistoryStore.open(target)
  }
}
