import ArgumentParser

/// The `ballast` command: balance VM clusters, drain hosts, and show what would move and why.
public struct BallastCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "ballast",
    abstract: "Keeps a cluster of VM hosts balanced: plans, explains and executes migrations.",
    discussion: """
      Cluster files (clusters/*.yaml) describe hosts, datastores and VMs; policy files \
      (policies/*.yaml) say how to balance. Every command that reads them validates them first. \
      Without --cluster and --policy: $BALLAST_CLUSTER and $BALLAST_POLICY, else \
      /etc/ballast/cluster.yaml and /etc/ballast/policy.yaml. Shell completions: \
      ballast --generate-completion-script bash|zsh|fish.

      Exit codes: \(ExitStatus.table)
      """,
    version: BallastVersion.current,
    subcommands: [
      ValidateCommand.self,
      StatusCommand.self,
      DiscoverCommand.self,
      GenerateCommand.self,
      PlanCommand.self,
      DrainCommand.self,
      BalanceCommand.self,
      SimulateCommand.self,
      LabCommand.self,
      MigrateCommand.self,
      ActivateCommand.self,
      ReconcileCommand.self,
      DatabaseCommand.self,
      HistoryCommand.self,
      BenchCommand.self,
      CalibrateCommand.self,
    ]
  )

  public init() {}
}
