import ArgumentParser
import BallastModel
import BallastRuntime
import Foundation
import Logging

/// `ballast simulate`: replay a day of load under one or more policies and compare them.
struct SimulateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "simulate",
    abstract: "Replay load traces through the balancing loop on a virtual clock and compare policies.",
    discussion: """
      Each policy replays the same load from the same starting placement through the same \
      balancing round the daemon runs (smoothing, hold time, cooldowns, planner, engine) on the \
      simulated driver, so hours run in seconds. Load comes from each VM's trace: file or \
      samples:, or from --traces (a folder of per-VM CPU series, one percentage per line every \
      5 minutes, e.g. the PlanetLab traces), assigned to running VMs in name order. A baseline \
      with no balancing is reported first. Imbalance figures use the default 0.5/0.5 weights \
      so policies compare on one scale.
      """)

  @Option(name: .long, help: ArgumentHelp("Cluster file (YAML).", valueName: "file"))
  var cluster: String

  @Option(
    name: .long,
    help: ArgumentHelp("Policy file; repeat to compare several. Default: built-in balanced.", valueName: "file"))
  var policy: [String] = []

  @Option(name: .long, help: ArgumentHelp("Simulated time to replay, e.g. 24h.", valueName: "time"))
  var duration: String = "24h"

  @Option(name: .long, help: ArgumentHelp("Time between balancing rounds (and samples), e.g. 5m.", valueName: "time"))
  var step: String = "5m"

  @Option(
    name: .long,
    help: ArgumentHelp("Folder of per-VM CPU traces (percent per line, every 5 minutes).", valueName: "dir"))
  var traces: String?

  @Option(
    name: .long, help: ArgumentHelp("Write a self-contained HTML chart of host utilization here.", valueName: "file"))
  var report: String?

  @Flag(name: .long, help: "Leave out the no-balancing baseline.")
  var noBaseline = false

  @Flag(name: .long, help: "Print {\"policies\":[…]} as JSON.")
  var json = false

  @Flag(name: .long, help: "Log every round's decision to standard error.")
  var verbose = false

  /// Simulated time one replay may cover.
  static let durationRange = TimeSpan.seconds(1)...TimeSpan.days(366)

  func validate() throws {
    let duration = try FlagValue.timeSpan(duration, flag: "--duration", in: Self.durationRange)
    let step = try FlagValue.timeSpan(step, flag: "--step", in: Limits.interval)
    if duration.seconds / step.seconds > 100_000 {
      throw ValidationError("--duration / --step is over 100,000 rounds; use a longer --step")
    }
  }

  func run() async throws {
    var clusterValue = try ClusterFile.load(path: cluster)
    if clusterValue.driver == .libvirt {
      // A libvirt file lists no VMs: the replay starts from the cluster as its daemons hold it now.
      clusterValue = LibvirtSession.snapshot(
        of: try await DriverFactory.currentCluster(clusterValue, clusterFile: cluster, policyFile: policy.first))
    }
    var policies: [(name: String, policy: Policy)] = []
    var issues: [FileIssue] = []
    for path in policy {
      do {
        let loaded = try ClusterFiles.policy(at: path, for: clusterValue)
        policies.append((loaded.name, loaded))
      } catch let errors as FileErrors {
        issues += errors.issues
      }
    }
    guard issues.isEmpty else { throw FileErrors(issues) }
    if policies.isEmpty {
      var defaults = Policy()
      defaults.rules = clusterValue.rules
      policies = [(defaults.name, defaults)]
    }
    let replay = try LoadReplay.load(cluster: clusterValue, clusterFile: cluster, folder: traces)
    let durationSeconds = TimeSpan(parsing: duration)?.seconds ?? 86400
    let simulator = Simulator(
      cluster: clusterValue, replay: replay, duration: durationSeconds,
      step: TimeSpan(parsing: step)?.seconds ?? 300,
      logger: Logger(
        label: "ballast.simulate",
        factory: { verbose ? StreamLogHandler.standardError(label: $0) : SwiftLogNoOpLogHandler() as any LogHandler }))
    if !json {
      writeLine(
        "Replaying \(TimeSpan(seconds: durationSeconds)) of load on \(clusterValue.name) "
          + "(\(clusterValue.hosts.count) hosts, \(clusterValue.vms.count) VMs, \(replay.replayedVMs) with a trace)")
    }

    var records: [SimulationRecord] = []
    let runs = (noBaseline ? [] : [("no balancing", Policy(), false)]) + policies.map { ($0.name, $0.policy, true) }
    for (name, policyValue, balancing) in runs {
      let started = ContinuousClock.now
      let showProgress = !json && standardErrorIsTerminal
      let record = try await simulator.run(policy: policyValue, name: name, balancing: balancing) { elapsed in
        if showProgress {
          printProgress(
            "  \(name): \(TimeSpan(seconds: min(elapsed, durationSeconds))) of \(TimeSpan(seconds: durationSeconds))")
        }
      }
      if showProgress { printProgress(nil) }
      records.append(record)
      if !json {
        let wall = started.duration(to: .now)
        writeLine("  \(name): done in \(wall.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))")
      }
    }

    let summaries = records.map(\.summary)
    if json {
      print(try JSONOutput.string(SimulationReportJSON(policies: summaries.map(\.roundedForReading))))
    } else {
      writeLine("")
      writeLine(SimulationText.table(summaries))
    }
    if let report {
      try AtomicFile.write(
        SimulationChart.html(records: records, title: "Ballast replay of \(clusterValue.name)"), to: report)
      if !json { writeLine("\nChart written to \(report)") }
    }
  }
}

/// `simulate --json`.
struct SimulationReportJSON: Encodable {
  var policies: [SimulationSummary]
}

extension SimulationSummary {
  /// The same figures rounded for people and scripts to read (`simulate --json`).
  var roundedForReading: SimulationSummary {
    var copy = self
    copy.imbalanceMean = JSONOutput.rounded(imbalanceMean)
    copy.imbalanceP95 = JSONOutput.rounded(imbalanceP95)
    copy.imbalanceMax = JSONOutput.rounded(imbalanceMax)
    copy.downtimeTotalMs = JSONOutput.rounded(downtimeTotalMs, 1)
    copy.downtimeMaxMs = JSONOutput.rounded(downtimeMaxMs, 1)
    copy.bytesMoved = bytesMoved.rounded()
    return copy
  }
}

/// The side-by-side table `simulate` prints.
enum SimulationText {
  static func table(_ summaries: [SimulationSummary]) -> String {
    var table = TextTable(
      [
        "POLICY", "IMBALANCE mean", "p95", "max", "MIGRATIONS", "live", "cold", "DOWNTIME total", "max", "MOVED",
        "OVER 100% CPU",
      ],
      rightAligned: Set(1...10))
    for s in summaries {
      table.add([
        s.policy, f3(s.imbalanceMean), f3(s.imbalanceP95), f3(s.imbalanceMax), "\(s.migrations)", "\(s.live)",
        "\(s.cold)", "\(TimeSpan.milliseconds(s.downtimeTotalMs))", "\(TimeSpan.milliseconds(s.downtimeMaxMs))",
        "\(ByteCount(clamping: s.bytesMoved))", "\(TimeSpan(seconds: s.overloadHostSeconds)) host-time",
      ])
    }
    return table.render()
  }

  private static func f3(_ x: Double) -> String { String(format: "%.3f", x) }
}
