import ArgumentParser
import BallastEngine
import BallastHistory
import BallastModel
import Foundation

/// `ballast db bench --db X`: how many journal commits per second a history database takes.
struct DatabaseBenchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Measure journal commits per second on a history database (a new, empty one).",
    discussion: """
      Journals --moves live migrations one commit at a time, as the engine does (the plan, each \
      move's start, each stage's intent and outcome, its end), under a migration lease whose \
      fencing token every write carries, with full durability; prints the commits per second. \
      Use a scratch database: --db must hold no history yet (an SQLite file that does not exist, \
      or a new PostgreSQL database). scripts/ha-bench.sh runs it on SQLite and on a local \
      PostgreSQL, and measures a standby's takeover time.
      """)

  @OptionGroup var database: DatabaseOptions

  @Option(name: .long, help: "How many migrations to journal (1 to 100000).")
  var moves = 200

  @Flag(name: .long, help: "Print one JSON object.")
  var json = false

  func validate() throws {
    guard (1...100_000).contains(moves) else { throw ValidationError("--moves must be from 1 to 100000") }
  }

  func run() async throws {
    let target = try database.target()
    let store = try await HistoryStore.open(target)
    if try await !store.plans(includeDryRuns: true, limit: 1).isEmpty {
      throw HistoryError(
        path: store.path, "it already holds a history",
        hint: "benchmark a scratch database: a new file or createdb NAME")
    }
    let count = moves
    let cluster = "bench"
    let stages = MigrationStage.stages(for: .live)
    let move = PlannedMove(
      vm: "vm", from: "h1", to: "h2", kind: .live, reason: "bench",
      predicted: PredictedCost(seconds: 1, downtimeMs: 10, bytes: 1e9, rounds: 3, converges: true))
    let view = ClusterView(imbalance: 0.2, hosts: [])
    let plan = MigrationPlan(
      trigger: .manual, cluster: cluster, policy: "bench", moves: Array(repeating: move, count: count), rejected: [],
      before: view, after: view)
    let holder = LeaseHolder.current(command: "db bench")
    let started = ContinuousClock.now
    let commits = try await store.withLease(cluster: cluster, holder: holder, duration: 60) { _ in
      var commits = 0
      let planID = try await store.recordPlan(plan, dryRun: false, at: 0)
      commits += 1
      var t = 1.0
      for index in 0..<count {
        let id = try await store.moveStarted(plan: planID, index: index, move: move, at: t)
        for stage in stages {
          try await store.stageIntent(move: id, stage: stage, at: t)
          try await store.stageOutcome(
            move: id, stage: stage, outcome: .succeeded, at: t, figures: StageFigures(), error: nil)
          t += 1
        }
        try await store.moveFinished(move: id, outcome: .completed, measured: nil, at: t, detail: nil)
        commits += 2 + 2 * stages.count
      }
      try await store.planFinished(plan: planID, measuredImbalanceAfter: 0.1, at: t)
      return commits + 1
    }
    let elapsed = ContinuousClock.now - started
    await store.close()
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    let rate = Double(commits) / max(seconds, 1e-9)
    if json {
      var line = JSONLine(event: "bench")
      line.add("database", target.description)
      line.add("backend", store.backend.rawValue)
      line.add("commits", commits)
      line.add("seconds", seconds, decimals: 3)
      line.add("commitsPerSecond", rate, decimals: 1)
      writeLine(line.text)
    } else {
      writeLine(
        "\(store.backend.rawValue) \(target): \(commits) journal commits in \(String(format: "%.2f", seconds)) s — "
          + "\(String(format: "%.0f", rate)) commits/s (\(count) live migrations, fenced, durable)")
    }
  }
}
