import BallastCLI

/// The `ballast` executable: `BallastCommand.main()` parses the arguments, runs the chosen
/// subcommand (awaiting it) and exits with the code the README's table lists.
@main
extension BallastCommand {}
