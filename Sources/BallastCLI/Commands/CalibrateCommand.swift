import ArgumentParser
import BallastModel
import BallastRuntime
import Foundation
import Logging

/// `ballast calibrate --cluster LAB`: real live migrations on a lab over a grid of dirty rates ×
/// bandwidth caps, the cost model's prediction of each next to what the hypervisor measured,
/// before and after the model learned.
struct CalibrateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "calibrate",
    abstract: "Measure the cost model against real live migrations on a lab (QEMU or libvirt).",
    discussion: """
      For each dirty rate × bandwidth cap, a fresh two-host copy of the lab runs one VM whose \
      test guest dirties its working set at that rate, and migrates it back and forth \
      (--migrations, 2 by default) through the migration engine. The first migration is \
      predicted from the VM's description only (the static model), each later one with what the \
      earlier ones taught. Unless --link is given, an idle guest is migrated first, three times \
      with no cap, and the fastest gives the lab's link. Prints, per migration, the transfer \
      (pre-copy and pause) and the whole move predicted vs measured, the pause predicted vs the \
      guest's outage (stop on the source to resume on the destination) and the hypervisor's own \
      downtime (hyp: until the last byte left the source), then the mean absolute errors before \
      and after learning, and from the 4th migration on. \
      Takes a few minutes; other labs on the machine skew it (run it alone). Needs what `lab up` \
      needs.
      """)

  @Option(name: .long, help: ArgumentHelp("A lab's cluster file, e.g. clusters/lab.yaml.", valueName: "file"))
  var cluster: String

  @Option(name: .long, help: ArgumentHelp("Dirty rates, MB/s, comma-separated.", valueName: "list"))
  var rates = "0,4,8,16,32"

  @Option(name: .long, help: ArgumentHelp("Bandwidth caps, MB/s, comma-separated.", valueName: "list"))
  var caps = "16,32,64"

  @Option(name: .long, help: "Migrations of each point's VM (1 to 20); the first is predicted before learning.")
  var migrations = 2

  @Option(name: .long, help: ArgumentHelp("The link's rate, e.g. 3Gbit/s (default: measured).", valueName: "rate"))
  var link: String?

  @Option(name: .long, help: ArgumentHelp("The migrated VM's memory (16MiB to 2GiB).", valueName: "size"))
  var memory = "64MiB"

  @Option(
    name: .customLong("working-set"),
    help: ArgumentHelp("What its guest fills and keeps rewriting (at most its memory).", valueName: "size"))
  var workingSet = "16MiB"

  @Flag(name: .long, help: "Print the whole report as JSON.")
  var json = false

  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    guard (1...20).contains(migrations) else {
      throw ValidationError("--migrations must be 1 to 20, got \(migrations)")
    }
    for (name, list) in [("--rates", rates), ("--caps", caps)] {
      guard let values = Self.numbers(list), !values.isEmpty else {
        throw ValidationError("\(name) takes numbers of MB/s separated by commas, e.g. 0,8,32; got \(list)")
      }
      if name == "--caps", values.contains(where: { $0 <= 0 }) {
        throw ValidationError("--caps must be above 0 MB/s")
      }
    }
    guard let memory = ByteCount(parsing: memory), memory >= .mib(16), memory <= .gib(2) else {
      throw ValidationError("--memory takes a size from 16MiB to 2GiB, e.g. 256MiB; got \(self.memory)")
    }
    guard let workingSet = ByteCount(parsing: workingSet), workingSet <= memory else {
      throw ValidationError("--working-set takes a size no larger than --memory, e.g. 64MiB; got \(self.workingSet)")
    }
    if let link, Bandwidth(parsing: link).map({ $0.bytesPerSecond > 0 }) != true {
      throw ValidationError("--link takes a rate such as 3Gbit/s or 400MB/s; got \(link)")
    }
  }

  func run() async throws {
    let (lab, _) = try ClusterFiles(cluster: cluster, policy: nil).load()
    var settings = CalibrationSettings()
    settings.dirtyRates = (Self.numbers(rates) ?? []).map { .mbPerSecond($0) }
    settings.bandwidthCaps = (Self.numbers(caps) ?? []).map { .mbPerSecond($0) }
    settings.migrations = migrations
    settings.linkRate = link.flatMap(Bandwidth.init(parsing:))
    settings.vmMemory = ByteCount(parsing: memory) ?? settings.vmMemory
    settings.workingSet = ByteCount(parsing: workingSet) ?? settings.workingSet
    let logger = logging.detailLogger("ballast.calibrate")
    let calibration = try LabCalibration(lab: lab, clusterFile: cluster, settings: settings, logger: logger)
    let json = self.json
    if !json {
      writeLine(
        "Calibrating the cost model on \(lab.name): \(Wording.count(settings.dirtyRates.count, "dirty rate")) × "
          + "\(Wording.count(settings.bandwidthCaps.count, "cap")), \(Wording.count(migrations, "migration")) each.")
      writeLine(CalibrationText.header)
    }
    let report = try await calibration.run { point, migration in
      if !json { writeLine(CalibrationText.row(point, migration)) }
    }
    if json {
      print(try JSONOutput.string(report))
    } else {
      writeLine("")
      writeLine(CalibrationText.summary(report))
    }
  }

  static func numbers(_ list: String) -> [Double]? {
    let parts = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let values = parts.compactMap(Double.init)
    guard values.count == parts.count, values.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 100_000 }) else {
      return nil
    }
    return values
  }
}
