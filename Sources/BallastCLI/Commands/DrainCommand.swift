import ArgumentParser
import BallastModel
import BallastPlanner

/// `ballast drain HOST`: evacuate a host before maintenance. For now only `--dry-run` (the plan).
struct DrainCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drain",
    abstract: "Empty a host before maintenance: plan (with --dry-run) every VM's move off it.",
    discussion: """
      The host is put in maintenance first (it takes no VMs), then every VM on it is placed: \
      running VMs live (or as the policy's liveIneligible says), stopped VMs cold. The whole \
      evacuation is checked before the first move; if some VM has nowhere to go the drain is \
      refused with every such VM and each host's reason. Moves are ordered to finish soonest \
      within the concurrency limits. Exits 1 when the drain is refused.
      """)

  @Argument(help: "The host to empty.")
  var host: String

  @OptionGroup var files: ClusterOptions

  @Flag(name: .long, help: "Only show the plan; move nothing.")
  var dryRun = false

  @Flag(name: .long, help: "Print the plan as JSON (keys sorted: the same input gives the same bytes).")
  var json = false

  @Flag(name: .customLong("no-timing"), help: "Leave the planning time out (for golden files).")
  var noTiming = false

  func run() async throws {
    guard dryRun else {
      // ENGINE: executing a drain is wired here by the engine work: refuse if the plan is
      // refused, set the host to maintenance (saved), run the plan's moves through the engine
      // (journaled, as `migrate` runs its plan with PlanRunner), then report.
      throw CommandFailure(
        "executing a drain is not available yet; run `ballast drain \(host) --cluster \(files.cluster) --dry-run` "
          + "to see the plan")
    }
    let (cluster, policy) = try files.load()
    let clock = ContinuousClock()
    var result: Result<MigrationPlan, PlannerError>?
    let elapsed = clock.measure {
      result = Result { () throws(PlannerError) -> MigrationPlan in
        try DrainPlanner.plan(host: host, cluster: cluster, policy: policy)
      }
    }
    guard let result else { return }
    let plan = try result.get()
    let millis = noTiming ? nil : elapsed.milliseconds
    print(
      json
        ? try PlanRenderer.json(plan, planMillis: millis)
        : PlanRenderer.text(plan, policy: policy, drained: host, planMillis: millis))
    if plan.refusal != nil { throw ExitCode(1) }
  }
}
