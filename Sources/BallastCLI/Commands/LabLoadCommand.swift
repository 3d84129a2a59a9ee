import ArgumentParser
import BallastModel

extension LabCommand {
  /// `ballast lab load VM --duty N`: change what a running lab VM's test guest does.
  struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Change a running lab VM's load: its guest's CPU duty cycle, dirty rate or working set.",
      discussion: """
        The test guest takes the change on its control port (a serial line) while it runs, and the \
        VM's definition keeps it for its next boot. A live migration carries it along. Use it to \
        make a host hot and watch `ballast status` and `ballast balance --loop` react.
        """)

    @Argument(help: "The VM.")
    var vm: String

    @Option(
      name: .long, help: ArgumentHelp("Percent of each 100 ms the guest's vCPU is busy (0–100).", valueName: "percent"))
    var duty: Int?

    @Option(name: .long, help: ArgumentHelp("Bytes the guest dirties per second, e.g. 8MB/s.", valueName: "rate"))
    var rate: String?

    @Option(name: .long, help: ArgumentHelp("Memory the guest rewrites, e.g. 16MiB.", valueName: "size"))
    var workingSet: String?

    @OptionGroup var files: ClusterOptions

    func validate() throws {
      if duty == nil && rate == nil && workingSet == nil {
        throw ValidationError("give --duty, --rate or --working-set")
      }
      if let duty, !(0...100).contains(duty) { throw ValidationError("--duty: expected 0 to 100, got \(duty)") }
      if let rate { _ = try FlagValue.bandwidth(rate, flag: "--rate", in: Limits.dirtyRate) }
      if let workingSet { _ = try FlagValue.bytes(workingSet, flag: "--working-set", in: Limits.workingSet) }
    }

    func run() async throws {
      let (cluster, _) = try files.load()
      let lab = try LabCommand.lab(cluster, file: files.cluster)
      writeLine(
        try await lab.setLoad(
          vm: vm, duty: duty, rate: rate.flatMap { Bandwidth(parsing: $0) },
          workingSet: workingSet.flatMap { ByteCount(parsing: $0) }))
    }
  }
}
