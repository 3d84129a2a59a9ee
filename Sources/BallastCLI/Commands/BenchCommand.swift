import ArgumentParser
import BallastModel
import BallastPlanner

/// `ballast bench`: plan times on generated clusters of growing size.
struct BenchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Time balance and drain plans on generated clusters of growing size (build with -c release).",
    discussion: """
      For each size, generates a cluster in memory (ballast generate's generator, same seed), \
      times indexing the snapshot (part of every plan), a balance plan and the drain plan of \
      the host with the most VMs, and prints \
      the imbalance before → after, under the policy (the built-in balanced one by default). \
      --min-improvement sets another minimum (e.g. 0.000001 to time a search that always plans \
      its full maxMovesPerRound).
      """)

  @Option(name: .long, help: "Comma-separated HOSTSxVMS sizes.")
  var sizes: String = "100x2000,1000x20000,10000x200000"

  @Option(name: .long, help: "Generator seed.")
  var seed: UInt64 = 1

  @Option(
    name: .long, help: ArgumentHelp("Policy file (YAML). Default: the built-in balanced policy.", valueName: "file"))
  var policy: String?

  @Option(name: .long, help: "minImprovement for the balance plans; 'policy' keeps the policy's.")
  var minImprovement: String = "policy"

  @Flag(name: .long, help: "Print the policy and one object per size as JSON (times in milliseconds).")
  var json = false

  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    _ = try parsedSizes()
    if minImprovement != "policy" {
      guard let value = Double(minImprovement) else {
        throw ValidationError("--min-improvement must be a number or 'policy', got \(SafeName.quoted(minImprovement))")
      }
      try FlagValue.check(value, flag: "--min-improvement", in: 0...1, what: "an imbalance reduction")
    }
  }

  func parsedSizes() throws -> [(hosts: Int, vms: Int)] {
    try sizes.split(separator: ",").map { item in
      let parts = item.split(separator: "x")
      guard parts.count == 2, let hosts = Int(parts[0]), let vms = Int(parts[1]) else {
        throw ValidationError("--sizes: expected HOSTSxVMS like 1000x20000, got \(SafeName.quoted(String(item)))")
      }
      try FlagValue.check(hosts, flag: "--sizes (hosts)", in: GenerateCommand.hostRange)
      try FlagValue.check(vms, flag: "--sizes (VMs)", in: GenerateCommand.vmRange)
      return (hosts, vms)
    }
  }

  func run() async throws {
    var policyValue = try policy.map { try PolicyFile.load(path: $0) } ?? Policy()
    if let value = Double(minImprovement) { policyValue.minImprovement = value }
    #if DEBUG
      printError("note: this is a debug build; figures are only meaningful with `swift build -c release`")
    #endif
    var rows: [BenchRow] = []
    for size in try parsedSizes() {
      if !json { printError("generating \(size.hosts) hosts / \(size.vms) VMs…") }
      rows.append(try Self.measure(hosts: size.hosts, vms: size.vms, seed: seed, policy: policyValue))
    }
    if json {
      print(
        try JSONOutput.string(
          BenchJSON(
            policy: policyValue.name, minImprovement: policyValue.minImprovement,
            aggressiveness: policyValue.aggressiveness, maxMovesPerRound: policyValue.maxMovesPerRound, seed: seed,
            sizes: rows)))
      return
    }
    print(
      "policy \(policyValue.name): minImprovement \(policyValue.minImprovement) at aggressiveness "
        + "\(policyValue.aggressiveness), maxMovesPerRound \(policyValue.maxMovesPerRound), seed \(seed)\n")
    var table = TextTable(
      [
        "HOSTS", "VMS", "GENERATE", "INDEX", "BALANCE PLAN", "MOVES", "IMBALANCE before → after", "DRAINED HOST",
        "DRAIN PLAN",
        "DRAIN MOVES", "MAKESPAN",
      ], rightAligned: [0, 1, 2, 3, 4, 5, 8, 9, 10])
    for row in rows {
      table.add([
        "\(row.hosts)", "\(row.vms)", Self.millis(row.generateMs), Self.millis(row.indexMs),
        Self.millis(row.balancePlanMs), "\(row.balanceMoves)",
        "\(PlanRenderer.fixed(row.imbalanceBefore, 4)) → \(PlanRenderer.fixed(row.imbalanceAfter, 4))",
        "\(row.drainedHost) (\(row.drainedHostVMs) VMs)", Self.millis(row.drainPlanMs),
        row.drainMoves.map { "\($0)" } ?? (row.drainRefused ? "refused" : "error"),
        PlanRenderer.duration(row.drainMakespanSeconds),
      ])
    }
    print(table.render())
  }

  /// Generates a cluster of `hosts` and `vms` and times indexing it, a balance plan and the
  /// drain plan of its fullest host.
  static func measure(hosts: Int, vms: Int, seed: UInt64, policy: Policy) throws -> BenchRow {
    let clock = ContinuousClock()
    var generated: Cluster?
    let generateTime = clock.measure { generated = ClusterGenerator(hosts: hosts, vms: vms, seed: seed).generate() }
    let cluster = generated ?? Cluster(name: "empty", datastores: [], hosts: [], vms: [])
    let indexTime = clock.measure { _ = PlacementState(cluster: cluster, policy: policy) }
    var balance: MigrationPlan?
    let balanceTime = try clock.measure { balance = try BalancePlanner.plan(cluster: cluster, policy: policy) }
    let target = largestHost(cluster)
    var drain: MigrationPlan?
    let drainTime = clock.measure { drain = try? DrainPlanner.plan(host: target, cluster: cluster, policy: policy) }
    return BenchRow(
      hosts: hosts, vms: cluster.vms.count, generateMs: generateTime.milliseconds, indexMs: indexTime.milliseconds,
      balancePlanMs: balanceTime.milliseconds, balanceMoves: balance?.moves.count ?? 0,
      imbalanceBefore: balance?.before.imbalance ?? 0, imbalanceAfter: balance?.after.imbalance ?? 0,
      drainedHost: target, drainedHostVMs: cluster.vms.filter { $0.host == target }.count,
      drainPlanMs: drainTime.milliseconds, drainMoves: drain.flatMap { $0.refusal == nil ? $0.moves.count : nil },
      drainRefused: drain?.refusal != nil, drainMakespanSeconds: drain?.predictedMakespanSeconds ?? 0)
  }

  /// The host with the most VMs (ties: the first by name).
  static func largestHost(_ cluster: Cluster) -> String {
    var counts: [String: Int] = [:]
    for vm in cluster.vms { counts[vm.host, default: 0] += 1 }
    return cluster.hosts.map(\.name).max { a, b in
      let (ca, cb) = (counts[a] ?? 0, counts[b] ?? 0)
      return ca != cb ? ca < cb : a > b
    } ?? ""
  }

  static func millis(_ milliseconds: Double) -> String { PlanRenderer.fixed(milliseconds, 1) + " ms" }
}

/// One size of `ballast bench`: the cluster, the times (milliseconds) and the plans' results.
struct BenchRow: Encodable {
  var hosts: Int
  var vms: Int
  var generateMs: Double
  var indexMs: Double
  var balancePlanMs: Double
  var balanceMoves: Int
  var imbalanceBefore: Double
  var imbalanceAfter: Double
  var drainedHost: String
  var drainedHostVMs: Int
  var drainPlanMs: Double
  /// `nil` when the drain was refused (or could not be planned).
  var drainMoves: Int?
  var drainRefused: Bool
  var drainMakespanSeconds: Double
}

/// What `bench --json` prints.
struct BenchJSON: Encodable {
  var policy: String
  var minImprovement: Double
  var aggressiveness: Int
  var maxMovesPerRound: Int
  var seed: UInt64
  var sizes: [BenchRow]
}
