/// A history database failure, with the file it concerns and what to do about it.
public struct HistoryError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The database file.
  public var path: String
  /// What happened, in an operator's words.
  public var message: String
  /// What to do about it.
  public var hint: String?

  public init(path: String, _ message: String, hint: String? = nil) {
    self.path = path
    self.message = message
    self.hint = hint
  }

  public var description: String {
    "history database \(path): \(message)" + (hint.map { " — \($0)" } ?? "")
  }
}
