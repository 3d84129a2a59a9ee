#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How commands that move VMs (`migrate`, `drain`, `activate`, `plan --execute`, `reconcile`,
/// `balance`) treat the signals that would otherwise end them in the middle of a move.
///
/// - SIGHUP (the terminal or SSH session went away) is ignored: a move goes on to its end, as
///   under `nohup`. (`balance --loop` reloads its policy on SIGHUP instead.)
/// - SIGPIPE (whoever read the output went away) is ignored: writing then fails quietly.
/// - SIGINT and SIGTERM stop the run: no new move starts and moves in flight finish (or abort
///   safely under `onCancel: abort`); a second one forces moves in flight to abort where it is
///   safe, promptly, journaled (see `PlanRunner` and `BalanceLoopService`).
enum MoveSignals {
  /// Ignores SIGHUP and SIGPIPE for the rest of the process.
  static func ignoreHangups() {
    signal(SIGHUP, SIG_IGN)
    signal(SIGPIPE, SIG_IGN)
  }
}
