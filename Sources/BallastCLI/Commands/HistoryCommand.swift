import ArgumentParser
import BallastEngine
import BallastHistory
import BallastModel
import Foundation

/// `ballast history`: what moved, when, why, what it was predicted to cost and what it cost.
struct HistoryCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "history",
    abstract: "Show recorded migrations, one migration's stages, or plans.",
    discussion: """
      Ballast records every plan, move and migration stage in its SQLite history (--db, \
      $BALLAST_DB, or ./ballast.sqlite). The file also reads in the sqlite3 shell: \
      SELECT * FROM move_history;
      """,
    subcommands: [HistoryListCommand.self, HistoryShowCommand.self, HistoryPlansCommand.self],
    defaultSubcommand: HistoryListCommand.self)
}

/// `ballast history [--vm V] [--host H] [--since T] [--kind K] [--failed] [--json]`.
struct HistoryListCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list",
    abstract: "List recent migrations: kind, from → to, predicted vs measured time and downtime, outcome.")

  @Option(name: .long, help: "Only this VM.")
  var vm: String?

  @Option(name: .long, help: "Only migrations from or to this host.")
  var host: String?

  @Option(name: .long, help: "Only live or only cold migrations.")
  var kind: KindOption?

  @Flag(name: .long, help: "Only migrations that were rolled back or need attention.")
  var failed = false

  @Flag(name: .long, help: "Also list moves that were only planned (dry runs).")
  var planned = false

  @OptionGroup var query: HistoryQueryOptions

  @Flag(name: .long, help: "Print {\"migrations\":[…]} as JSON.")
  var json = false

  @OptionGroup var database: DatabaseOptions

  func run() async throws {
    let store = try database.openExistingStore()
    let filter = MigrationFilter(
      vm: vm, host: host, since: query.sinceTime, kind: kind?.kind, failedOnly: failed, cluster: query.cluster,
      includePlanned: planned, limit: query.limit)
    let records = try await store.migrations(filter)
    if json {
      print(try JSONOutput.string(["migrations": records]))
    } else if records.isEmpty {
      print("No migrations recorded in \(store.path) match.")
    } else {
      print(HistoryText.migrations(records))
    }
  }
}

/// `ballast history show ID`.
struct HistoryShowCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show", abstract: "Show one migration: predicted vs measured, and every stage with its figures.")

  @Argument(help: "The migration's ID (first column of `ballast history`).")
  var id: Int64

  @Flag(name: .long, help: "Print the migration and its stages as JSON.")
  var json = false

  @OptionGroup var database: DatabaseOptions

  func run() async throws {
    let store = try database.openExistingStore()
    guard let detail = try await store.migration(id: id) else {
      throw CommandFailure("no migration \(id) in \(store.path) — list them with `ballast history`")
    }
    print(json ? try JSONOutput.string(detail) : HistoryText.migration(detail))
  }
}

/// `ballast history plans`.
struct HistoryPlansCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plans", abstract: "List plans with the imbalance before → predicted after → measured after.")

  @Flag(name: .long, help: "Leave out dry runs.")
  var noDryRuns = false

  @OptionGroup var query: HistoryQueryOptions

  @Flag(name: .long, help: "Print {\"plans\":[…]} as JSON.")
  var json = false

  @OptionGroup var database: DatabaseOptions

  func run() async throws {
    let store = try database.openExistingStore()
    let plans = try await store.plans(
      cluster: query.cluster, since: query.sinceTime, includeDryRuns: !noDryRuns, limit: query.limit)
    if json {
      print(try JSONOutput.string(["plans": plans]))
    } else if plans.isEmpty {
      print("No plans recorded in \(store.path) match.")
    } else {
      print(HistoryText.plans(plans))
    }
  }
}

/// `--kind live|cold`.
enum KindOption: String, ExpressibleByArgument, CaseIterable {
  case live
  case cold

  var kind: MigrationKind {
    switch self {
    case .live: .live
    case .cold: .cold
    }
  }
}

/// `--since`, `--cluster` and `--limit`, shared by the history listings.
struct HistoryQueryOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp(TimeBound.help, valueName: "time"))
  var since: TimeBound?

  @Option(name: .long, help: "Only this cluster.")
  var cluster: String?

  @Option(name: .long, help: "At most this many, most recent first.")
  var limit = 50

  func validate() throws {
    try FlagValue.check(limit, flag: "--limit", in: 1...1_000_000)
  }

  /// `--since` as seconds since the Unix epoch.
  var sinceTime: Double? { since?.resolve(now: Date().timeIntervalSince1970) }
}
