import BallastDriverSupport
import Foundation

/// Copies a storage volume between two daemons through libvirt's streams (download from the
/// source, upload to the destination), hashing what passes; then reads the destination copy
/// back and hashes it again. Blocking: call inside ``Libvirt/run(_:_:)``.
enum VolumeCopy {
  /// What was copied: bytes, and the SHA-256 both sides agree on.
  struct Outcome: Sendable {
    var bytes: Int64
    var checksum: String
  }

  /// Copies `source` (on `from`) into `target` (on `to`), then verifies `target` reads back
  /// with the same SHA-256. Throws when the copy or the verification fails.
  static func copy(
    _ source: LibvirtVolume, from: LibvirtConnection, into target: LibvirtVolume, on to: LibvirtConnection
  ) throws -> Outcome {
    let download = try from.newStream()
    let upload = try to.newStream()
    try source.download(into: download)
    try target.upload(from: upload)
    var hasher = SHA256Hasher()
    var bytes: Int64 = 0
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let count = try download.receive(into: buffer)
      if count == 0 { break }
      let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
      hasher.update(chunk)
      try upload.send(chunk)
      bytes += Int64(count)
    }
    try download.finish()
    try upload.finish()
    let sent = hasher.finish()
    let received = try checksum(target, on: to)
    guard sent == received else {
      throw VolumeCopyError(
        "the copy of volume \(source.name) reads back with SHA-256 \(received), not \(sent) as sent")
    }
    return Outcome(bytes: bytes, checksum: sent)
  }

  /// SHA-256 of a volume's bytes, read through a download stream.
  static func checksum(_ volume: LibvirtVolume, on connection: LibvirtConnection) throws -> String {
    let stream = try connection.newStream()
    try volume.download(into: stream)
    var hasher = SHA256Hasher()
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let count = try stream.receive(into: buffer)
      if count == 0 { break }
      hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }
    try stream.finish()
    return hasher.finish()
  }
}

/// A volume copy that did not arrive intact.
struct VolumeCopyError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
