import ArgumentParser
import BallastModel
import BallastPlanner

/// `ballast plan`: what a balance round would move, why, and what it would cost. Moves nothing.
struct PlanCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Show the moves a balance round would make, why, and what they would cost (nothing moves).",
    discussion: """
      Each move shows the VM, from → to, live or cold, the reason, the score breakdown and the \
      predicted time and downtime; then each host's utilization before → after, the imbalance \
      before → after, and the destinations that were considered and rejected, with why. \
      --explain VM shows every host's verdict for one VM instead.
      """)

  @OptionGroup var files: ClusterOptions

  @Flag(name: .long, help: "Print the plan as JSON (keys sorted: the same input gives the same bytes).")
  var json = false

  @Option(name: .long, help: ArgumentHelp("Show every host's verdict or score for this VM.", valueName: "vm"))
  var explain: String?

  @Flag(name: .customLong("no-timing"), help: "Leave the planning time out (for golden files).")
  var noTiming = false

  func run() async throws {
    let (cluster, policy) = try files.load()
    if let vm = explain {
      let explanation = try PlacementExplainer.explain(vm: vm, cluster: cluster, policy: policy)
      print(json ? try ExplainRenderer.json(explanation) : ExplainRenderer.text(explanation))
      return
    }
    let clock = ContinuousClock()
    var plan: MigrationPlan?
    let elapsed = clock.measure { plan = BalancePlanner.plan(cluster: cluster, policy: policy) }
    guard let plan else { return }
    let millis = noTiming ? nil : elapsed.milliseconds
    print(
      json
        ? try PlanRenderer.json(plan, planMillis: millis) : PlanRenderer.text(plan, policy: policy, planMillis: millis))
  }
}

extension Duration {
  /// The duration in milliseconds.
  var milliseconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
  }
}
