import ArgumentParser
import BallastService
import Logging

/// `--log-level` and `--log-format`, on every command: what goes to standard error, and how.
struct LoggingOptions: ParsableArguments {
  /// swift-log's levels, as the option spells them.
  enum Level: String, ExpressibleByArgument, CaseIterable {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level {
      switch self {
      case .trace: .trace
      case .debug: .debug
      case .info: .info
      case .notice: .notice
      case .warning: .warning
      case .error: .error
      case .critical: .critical
      }
    }
  }

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Log from this level up on standard error: trace, debug, info, notice, warning, error or critical. "
        + "Default: info for the loop and the lab; the engine's own log under drain, migrate, activate, "
        + "plan --execute and reconcile (which print their progress themselves) only when this is given.",
      valueName: "level"))
  var logLevel: Level?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "text (default), or json: one JSON object per line with timestamp, level, label, message and metadata.",
      valueName: "format"))
  var logFormat: LogFormat = .text

  /// The log of `label`, at `--log-level` (default info).
  func logger(_ label: String) -> Logger {
    let (format, level) = (logFormat, logLevel?.level ?? .info)
    return Logger(label: label, factory: { format.handler(label: $0, level: level) })
  }

  /// The log of what a command also reports itself (the engine, a reconcile): silent unless
  /// `--log-level` is given.
  func detailLogger(_ label: String) -> Logger {
    guard logLevel != nil else { return Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() }) }
    return logger(label)
  }
}

extension LogFormat: ExpressibleByArgument {}
