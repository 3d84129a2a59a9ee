import Foundation
import Logging
import Synchronization

/// A swift-log handler writing one JSON object per line:
/// `{"label":…,"level":…,"message":…,"metadata":{…},"source":…,"timestamp":…}`.
///
/// Keys are sorted; the timestamp is ISO 8601 in UTC with milliseconds; metadata keeps its
/// nesting (strings, lists, dictionaries). Lines are written whole, one at a time, so records
/// from several tasks never interleave.
public struct JSONLogHandler: LogHandler {
  public var metadata: Logger.Metadata = [:]
  public var logLevel: Logger.Level = .info
  public let label: String
  let output: LineOutput

  public init(label: String) { self.init(label: label, output: .standardError) }

  init(label: String, output: LineOutput) {
    self.label = label
    self.output = output
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    output.write(Self.line(event, label: label, metadata: metadata, at: Date()))
  }

  /// The record as one line of JSON.
  static func line(_ event: LogEvent, label: String, metadata: Logger.Metadata, at date: Date) -> String {
    var object: [String: Any] = [
      "timestamp": date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)),
      "level": event.level.rawValue,
      "label": label,
      "message": event.message.description,
      "source": event.source,
    ]
    if let error = event.error { object["error"] = "\(error)" }
    let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
    if !merged.isEmpty { object["metadata"] = merged.mapValues(json) }
    guard
      let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    else { return #"{"level":"error","message":"a log record could not be written as JSON"}"# }
    return String(decoding: data, as: UTF8.self)
  }

  private static func json(_ value: Logger.Metadata.Value) -> Any {
    switch value {
    case .string(let text): text
    case .stringConvertible(let convertible): convertible.description
    case .array(let values): values.map(json)
    case .dictionary(let values): values.mapValues(json)
    }
  }
}

/// Whole lines to a file handle, one writer at a time.
final class LineOutput: Sendable {
  private let handle: Mutex<FileHandle>

  init(_ handle: FileHandle) { self.handle = Mutex(handle) }

  static let standardError = LineOutput(FileHandle.standardError)

  func write(_ line: String) {
    handle.withLock { handle in handle.write(Data((line + "\n").utf8)) }
  }
}
