import ArgumentParser
import BallastHistory
import Foundation

/// `ballast db`: work on history databases themselves.
struct DatabaseCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "db",
    abstract: "Work on history databases: copy one into another (SQLite ⇄ PostgreSQL).",
    subcommands: [DatabaseCopyCommand.self, DatabaseBenchCommand.self])
}

/// `ballast db copy --from A --to B`: a whole history into a new, empty database.
struct DatabaseCopyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "copy",
    abstract: "Copy a whole history into a new, empty database, and check it by row counts.",
    discussion: """
      Copies every plan, move, stage, host sample, host state change and lease from --from to \
      --to, keeping ids, then checks that each table holds as many rows in both. Either may be \
      an SQLite file or postgresql://USER@HOST:PORT/DATABASE (password from PGPASSWORD or \
      ~/.pgpass). Stop the Ballast processes that use --from first: the copy is refused while \
      one holds a lease. --to must be empty (a new database or a file that does not exist yet); \
      its schema is created. E.g. to move to PostgreSQL: \
      ballast db copy --from ballast.sqlite --to postgresql://ballast@db.example/ballast
      """)

  @Option(name: .long, help: ArgumentHelp("The history to copy: a file or a postgresql:// URL.", valueName: "path|url"))
  var from: String

  @Option(
    name: .long, help: ArgumentHelp("The new, empty history: a file or a postgresql:// URL.", valueName: "path|url"))
  var to: String

  @Flag(name: .long, help: "One JSON object per table, then {\"event\":\"summary\",…}.")
  var json = false

  func validate() throws {
    if from == to { throw ValidationError("--from and --to name the same database") }
  }

  func run() async throws {
    let environment = ProcessInfo.processInfo.environment
    let source = try HistoryTarget(from, environment: environment)
    if case .sqlite(let path) = source, !FileManager.default.fileExists(atPath: path) {
      throw HistoryError(path: path, "no history database here", hint: "name an existing history with --from")
    }
    let destination = try HistoryTarget(to, environment: environment)
    let reader = try await HistoryStore.open(source, access: .readOnly)
    let writer = try await HistoryStore.open(destination)
    let report: [CopiedTable]
    do {
      report = try await reader.copy(to: writer)
    } catch {
      await reader.close()
      await writer.close()
      throw error
    }
    await reader.close()
    await writer.close()
    let total = report.reduce(0) { $0 + $1.copiedRows }
    if json {
      for table in report {
        var line = JSONLine(event: "table")
        line.add("table", table.table)
        line.add("sourceRows", table.sourceRows)
        line.add("copiedRows", table.copiedRows)
        writeLine(line.text)
      }
      var summary = JSONLine(event: "summary")
      summary.add("from", source.description)
      summary.add("to", destination.description)
      summary.add("rows", total)
      writeLine(summary.text)
    } else {
      for table in report {
        let rows = table.copiedRows == 1 ? "row" : "rows"
        writeLine("\(table.table): \(table.copiedRows) \(rows) (\(table.sourceRows) in the source)")
      }
      writeLine("Copied \(total) rows from \(source) to \(destination); every table's row count matches.")
    }
  }
}
