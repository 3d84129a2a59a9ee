import Logging

/// How log records are written to standard error: `text` (swift-log's stream handler, one
/// readable line each) or `json` (one JSON object per line, for journald and log shippers).
public enum LogFormat: String, Sendable, Hashable, CaseIterable {
  case text
  case json

  /// A handler writing `label`'s records in this format to standard error, from `level` up.
  public func handler(label: String, level: Logger.Level) -> any LogHandler {
    var handler: any LogHandler =
      switch self {
      case .text: StreamLogHandler.standardError(label: label)
      case .json: JSONLogHandler(label: label)
      }
    handler.logLevel = level
    return handler
  }
}
