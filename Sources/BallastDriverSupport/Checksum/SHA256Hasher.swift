import Crypto
import Foundation

/// SHA-256 (swift-crypto's `Crypto.SHA256`) fed piece by piece, as lowercase hex: what a
/// driver compares to verify a disk it copied (a file, or a volume streamed over a connection).
public struct SHA256Hasher {
  private var hash = Crypto.SHA256()

  public init() {}

  /// Adds the next piece of the message.
  public mutating func update(_ bytes: some DataProtocol) {
    hash.update(data: bytes)
  }

  /// The digest of everything added, as 64 lowercase hex digits.
  public func finish() -> String {
    Self.hex(of: hash.finalize())
  }

  /// The hex SHA-256 of `bytes`.
  public static func hex(_ bytes: some DataProtocol) -> String {
    hex(of: Crypto.SHA256.hash(data: bytes))
  }

  /// The hex SHA-256 of the file at `path`, read in 1 MiB chunks on a thread of its own
  /// (``BlockingWork``), so a disk image of any size never occupies the cooperative pool.
  /// - Throws: Foundation's error when the file cannot be opened or read.
  public static func file(_ path: String) async throws -> String {
    try await BlockingWork.run("sha256") {
      guard let handle = FileHandle(forReadingAtPath: path) else {
        throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
      }
      defer { try? handle.close() }
      var hasher = SHA256Hasher()
      while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
        hasher.update(chunk)
      }
      return hasher.finish()
    }
  }

  private static func hex(of digest: Crypto.SHA256.Digest) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(64)
    for byte in digest {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
  }
}
