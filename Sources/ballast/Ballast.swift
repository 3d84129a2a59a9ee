import BallastCLI

/// The `ballast` executable: ArgumentParser's `AsyncParsableCommand.main()` parses the
/// arguments and runs the chosen subcommand, awaiting it.
@main
extension BallastCommand {}
