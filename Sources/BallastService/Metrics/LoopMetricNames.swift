/// The names, help texts and buckets of the balancing loop's metrics.
///
/// Names follow Prometheus' conventions: the `ballast_` prefix, base units (seconds, bytes,
/// ratios of 0 to 1) spelled out at the end, `_total` on counters. Durations of rounds and
/// planning are real (wall-clock) seconds; those of migrations are on the cluster's clock,
/// as the history records them (virtual seconds for a paced simulated cluster).
public enum LoopMetricNames {
  public static let imbalance = "ballast_imbalance"
  public static let threshold = "ballast_imbalance_threshold"
  public static let hostUtilization = "ballast_host_utilization_ratio"
  public static let hostState = "ballast_host_state"
  public static let rounds = "ballast_rounds_total"
  public static let roundDuration = "ballast_round_duration_seconds"
  public static let planDuration = "ballast_plan_duration_seconds"
  public static let migrations = "ballast_migrations_total"
  public static let migrationDuration = "ballast_migration_duration_seconds"
  public static let migrationDowntime = "ballast_migration_downtime_seconds"
  public static let bytesMoved = "ballast_bytes_moved_total"
  public static let inFlight = "ballast_migrations_in_flight"
  public static let leaseHeld = "ballast_lease_held"
  public static let lastRound = "ballast_last_round_timestamp_seconds"
  public static let standby = "ballast_standby"
  public static let ruleViolations = "ballast_rule_violations"

  /// Every metric the loop exports, with its help text and buckets.
  public static let descriptions: [String: MetricDescription] = [
    imbalance: MetricDescription(
      help: "Standard deviation of the active hosts' weighted utilization in the last round (0: evenly loaded); "
        + "kind=measured is the load as sampled, kind=smoothed over the policy's window (what the loop acts on)."),
    threshold: MetricDescription(help: "The policy's imbalance threshold: the loop plans moves above it."),
    hostUtilization: MetricDescription(
      help: "A host's utilization as measured in the last round, as a ratio of its capacity "
        + "(resource=cpu can pass 1 when vCPUs are overcommitted)."),
    hostState: MetricDescription(
      help: "1 for the host's state in the last round, 0 for the others: active, maintenance, or unseen "
        + "(not reported or samples too old: neither source nor destination)."),
    rounds: MetricDescription(
      help: "Balancing rounds by decision (balanced, holding, backingOff, nothingToDo, planned, executed, "
        + "leaseHeld) and rounds that failed with an error."),
    roundDuration: MetricDescription(
      help: "Real seconds a balancing round took: sampling, planning and any migrations it ran.",
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]),
    planDuration: MetricDescription(
      help: "Real seconds the balance planner took in a round that planned.",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
    migrations: MetricDescription(
      help: "Migrations the loop ran, by kind (live, cold) and outcome (completed, rolledBack, skipped, "
        + "needsAttention)."),
    migrationDuration: MetricDescription(
      help: "Seconds a completed migration took, start to activation, on the cluster's clock.",
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200]),
    migrationDowntime: MetricDescription(
      help: "Seconds a completed migration kept its VM from running (live: the stop-and-copy pause; "
        + "cold: from shutdown to start), on the cluster's clock.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800]),
    bytesMoved: MetricDescription(help: "Bytes completed migrations sent over the migration links."),
    inFlight: MetricDescription(help: "Migrations started and not yet ended."),
    leaseHeld: MetricDescription(
      help: "1 while this process holds the cluster's migration lease (it is moving VMs), else 0."),
    lastRound: MetricDescription(
      help: "Unix time (wall clock) at which the last balancing round completed; 0 before the first."),
    standby: MetricDescription(
      help: "1 while this instance stands by for another that balances the cluster, else 0."),
    ruleViolations: MetricDescription(
      help: "Rules the cluster broke in the last round, by rule (its name; capacity or cpu for those kinds) "
        + "and kind (antiAffinity, affinity, vmHost, capacity, cpu); 0 once repaired."),
  ]
}
