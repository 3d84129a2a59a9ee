import ArgumentParser
import BallastModel

/// `--state FILE`: where a simulated cluster's hypervisors keep their state between runs.
struct StateOption: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "Simulated clusters: keep the hypervisors' state in this file, written after every step and resumed "
        + "from it next time (default: start from the cluster file).",
      valueName: "file"))
  var state: String?
}

/// `--state FILE --pace X` of the commands that run migrations on a simulated cluster.
struct SimulationOptions: ParsableArguments {
  @OptionGroup var stateOption: StateOption

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Simulated clusters: run the virtual clock at this many seconds per real second (default: as fast as possible).",
      valueName: "x"))
  var pace: Double?

  var state: String? { stateOption.state }

  func validate() throws {
    if let pace {
      try FlagValue.check(pace, flag: "--pace", in: Limits.pace, what: "virtual seconds per real second")
    }
  }
}
