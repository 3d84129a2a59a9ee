import ArgumentParser
import BallastHistory

/// The exit codes of `ballast`, as the README's table and `ballast --help` list them.
enum ExitStatus {
  /// It did what was asked.
  static let success: Int32 = 0
  /// It failed (an error, a refused plan, moves rolled back, VMs left on a drained host).
  static let failure: Int32 = 1
  /// A migration needs an operator: past commitment, activation did not complete.
  static let needsAttention: Int32 = 2
  /// The arguments do not parse or do not make sense together (BSD's EX_USAGE).
  static let usage: Int32 = 64
  /// Another Ballast process holds the cluster's lease: busy, not failed; try again later
  /// (BSD's EX_TEMPFAIL).
  static let busy: Int32 = 75

  /// The table for help texts.
  static let table = """
    0 done; 1 failed (an error, a refused plan, a move rolled back, VMs left on a drained host); \
    2 a migration needs attention; 64 wrong arguments; 75 busy: another Ballast process holds \
    the cluster's lease (try again later).
    """

  /// The error to exit with for `error`: a held lease says so on standard error and exits
  /// ``busy``; anything else as ArgumentParser would.
  static func translating(_ error: any Error) -> any Error {
    guard let lease = error as? LeaseError, case .held = lease else { return error }
    printError("Error: \(lease)")
    return ExitCode(busy)
  }
}

extension BallastCommand {
  /// Parses the arguments, runs the command they name and exits with the code the README's
  /// table lists (``ExitStatus``): ArgumentParser's own `main()`, with the lease's exit code.
  public static func main() async {
    do {
      var command = try await asyncParseAsRoot()
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      exit(withError: ExitStatus.translating(error))
    }
  }
}
