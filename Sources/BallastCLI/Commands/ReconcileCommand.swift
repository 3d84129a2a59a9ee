import ArgumentParser
import BallastEngine
import BallastRuntime
import Logging

/// `ballast reconcile`: settle the migrations a killed Ballast process left in flight.
struct ReconcileCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reconcile",
    abstract: "Finish or roll back the migrations a killed Ballast process left in flight.",
    discussion: """
      Reads the history for moves of this cluster that started and never ended, asks the \
      hypervisors where each VM really is, and finishes the move (past commitment) or rolls it \
      back (before it), recording what it did; a VM found where the history cannot explain is \
      left alone and reported as needing attention. migrate, drain, plan --execute and balance \
      do this first on their own. It holds the cluster's lease meanwhile, so it never touches a \
      migration a live process is running. Exits 0 when everything was settled, 1 when some move \
      could not be (run it again once the hosts answer), 2 when a VM needs attention.
      """)

  @OptionGroup var files: ClusterOptions
  @OptionGroup var database: DatabaseOptions

  @OptionGroup var simulation: StateOption

  @Flag(name: .long, help: "One JSON object per move, then {\"event\":\"summary\",…}.")
  var json = false

  func run() async throws {
    MoveSignals.ignoreHangups()
    let session = try await ClusterSession.open(files: files, database: database, statePath: simulation.state)
    let quiet = Logger(label: "ballast.reconcile", factory: { _ in SwiftLogNoOpLogHandler() })
    let results = try await session.withLease(command: "reconcile") {
      try await session.reconcileHoldingLease(logger: quiet)
    }
    let count = { (name: String) in results.filter { ReconcileOutput.name($0.resolution) == name }.count }
    if json {
      for result in results { writeLine(ReconcileOutput.line(result)) }
      var line = JSONLine(event: "summary")
      line.add("cluster", session.cluster.name)
      for name in ["completed", "rolledBack", "needsAttention", "unresolved"] { line.add(name, count(name)) }
      writeLine(line.text)
    } else if results.isEmpty {
      writeLine("Nothing to reconcile: no migration of cluster \(session.cluster.name) was left in flight.")
    } else {
      ReconcileOutput.print(results, json: false)
    }
    if count("needsAttention") > 0 { throw ExitCode(2) }
    if count("unresolved") > 0 { throw ExitCode(1) }
  }
}
