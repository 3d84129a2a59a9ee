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
    print(
      "policy \(policyValue.name): minImprovement \(policyValue.minImprovement) at aggressiveness "
        + "\(policyValue.aggressiveness), maxMovesPerRound \(policyValue.maxMovesPerRound), seed \(seed)\n")
    var table = TextTable(
      [
        "HOSTS", "VMS", "GENERATE", "INDEX", "BALANCE PLAN", "MOVES", "IMBALANCE before → after", "DRAINED HOST",
        "DRAIN PLAN",
        "DRAIN MOVES", "MAKESPAN",
      ], rightAligned: [0, 1, 2, 3, 4, 5, 8, 9, 10])
    let clock = ContinuousClock()
    for size in try parsedSizes() {
      printError("generating \(size.hosts) hosts / \(size.vms) VMs…")
      var cluster: Cluster?
      let generateTime = clock.measure {
        cluster = ClusterGenerator(hosts: size.hosts, vms: size.vms, seed: seed).generate()
      }
      guard let cluster else { continue }
      let indexTime = clock.measure { _ = PlacementState(cluster: cluster, policy: policyValue) }
      var balance: MigrationPlan?
      let balanceTime = try clock.measure { balance = try BalancePlanner.plan(cluster: cluster, policy: policyValue) }
      let target = Self.largestHost(cluster)
      var drain: MigrationPlan?
      let drainTime = clock.measure {
        drain = try? DrainPlanner.plan(host: target, cluster: cluster, policy: policyValue)
      }
      let drainMoves = drain.map { $0.refusal == nil ? "\($0.moves.count)" : "refused" } ?? "error"
      table.add([
        "\(size.hosts)", "\(cluster.vms.count)", Self.millis(generateTime), Self.millis(indexTime),
        Self.millis(balanceTime),
        "\(balance?.moves.count ?? 0)",
        "\(PlanRenderer.fixed(balance?.before.imbalance ?? 0, 4)) → \(PlanRenderer.fixed(balance?.after.imbalance ?? 0, 4))",
        "\(target) (\(cluster.vms.filter { $0.host == target }.count) VMs)", Self.millis(drainTime), drainMoves,
        PlanRenderer.duration(drain?.predictedMakespanSeconds ?? 0),
      ])
    }
    print(table.render())
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

  static func millis(_ duration: Duration) -> String { PlanRenderer.fixed(duration.milliseconds, 1) + " ms" }
}
