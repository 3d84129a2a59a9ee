import BallastEngine
import BallastModel
import Foundation

/// JSON text for the columns that hold structured figures: sorted keys, so `sqlite3` shows
/// the same object the same way, and `json_extract` works on every one.
enum JSONColumn {
  static func encode(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
  }

  static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(text.utf8))
  }

  /// The figures as JSON, or `nil` when no figure is set.
  static func figures(_ figures: StageFigures) throws -> String? {
    let text = try encode(figures)
    return text == "{}" ? nil : text
  }
}

/// A disk as stored in `moves.disks_to_copy`: its size in exact bytes (``ByteCount``'s own
/// encoding is a rounded text like `1.5GiB`).
struct StoredDisk: Codable {
  var datastore: String
  var bytes: Int64
  var path: String?
  /// The space the image takes, when known.
  var allocated: Int64?

  init(_ disk: Disk) {
    datastore = disk.datastore
    bytes = disk.size.bytes
    path = disk.path
    allocated = disk.allocated?.bytes
  }

  var disk: Disk {
    Disk(datastore: datastore, size: ByteCount(bytes), path: path, allocated: allocated.map(ByteCount.init))
  }
}
