import ArgumentParser
import BallastModel
import BallastRuntime
import Logging

extension LabCommand {
  /// `ballast lab bench`: the libvirt driver's figures on a libvirt lab.
  struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Measure a libvirt lab: inventory time, one bulk statistics call at scale, live migrations.",
      discussion: """
        Times whole inventories of the lab, one bulk statistics call (virConnectGetAllDomainStats) \
        on the first host while it holds --domains tiny defined (never started) domains, which are \
        undefined again afterwards, and --migrations live moves of --vm between the first two hosts, \
        printing the planner's prediction beside what libvirt measured. The lab must be up.
        """)

    @OptionGroup var files: ClusterOptions

    @Option(name: .long, help: "The VM to move back and forth.")
    var vm = "web-1"

    @Option(name: .long, help: "Live migrations to measure.")
    var migrations = 3

    @Option(name: .long, help: "Idle domains to define for the bulk statistics call.")
    var domains = 1000

    @Flag(name: .long, help: "Print the figures as JSON.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
      guard (0...50).contains(migrations) else { throw ValidationError("--migrations: expected 0 to 50") }
      guard (0...20_000).contains(domains) else { throw ValidationError("--domains: expected 0 to 20000") }
    }

    func run() async throws {
      let (cluster, policy) = try files.load()
      let logger = logging.detailLogger("ballast.bench")
      guard case .libvirt(let lab) = try Lab.of(cluster, clusterFile: files.cluster, logger: logger) else {
        throw CommandFailure("lab bench measures a libvirt lab (driver: libvirt with labRoot:)")
      }
      let report = try await LibvirtBench.run(
        lab: lab, cluster: cluster, clusterFile: files.cluster, policy: policy, vm: vm, migrations: migrations,
        idleDomains: domains, logger: logger)
      if json {
        print(try JSONOutput.string(report))
        return
      }
      writeLine("Inventory of \(cluster.name) (median of 5): \(Wording.duration(report.inventorySeconds))")
      writeLine(
        "One bulk statistics call over \(report.bulkStatisticsDomains) domains: "
          + Wording.duration(report.bulkStatisticsSeconds))
      var table = TextTable(["MOVE", "PREDICTED", "MEASURED", "PREDICTED DOWNTIME", "MEASURED DOWNTIME"])
      for move in report.migrations {
        table.add([
          "\(move.vm) \(move.from)→\(move.to)", Wording.duration(move.predictedSeconds),
          Wording.duration(move.measuredSeconds), Wording.duration(move.predictedDowntimeMs / 1000),
          Wording.duration(move.measuredDowntimeMs / 1000),
        ])
      }
      if !report.migrations.isEmpty { writeLine(table.render()) }
    }
  }
}
