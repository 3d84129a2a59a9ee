import CLibvirt
import Foundation

/// A libvirt storage pool. Its methods block: call them inside ``Libvirt/run(_:_:)``.
final class LibvirtStoragePool: @unchecked Sendable {
  let pointer: OpaquePointer

  init(owning pointer: OpaquePointer) { self.pointer = pointer }
  deinit { virStoragePoolFree(pointer) }

  var name: String { virStoragePoolGetName(pointer).map { String(cString: $0) } ?? "" }
  var isActive: Bool { virStoragePoolIsActive(pointer) == 1 }

  func xml() throws -> String {
    try Libvirt.takeString(virStoragePoolGetXMLDesc(pointer, 0), "reading the pool's XML")
  }

  /// Rescans the pool's folder so volumes created outside libvirt are seen.
  func refresh() throws { try Libvirt.check(virStoragePoolRefresh(pointer, 0), "refreshing pool \(name)") }

  /// The volume called `name` in this pool, or `nil`.
  func volume(named name: String) throws -> LibvirtVolume? {
    if let volume = virStorageVolLookupByName(pointer, name) { return LibvirtVolume(owning: volume) }
    let failure = Libvirt.lastFailure()
    if failure.isNoStorage { return nil }
    throw failure
  }

  /// Creates a volume from `xml`.
  func createVolume(_ xml: String) throws -> LibvirtVolume {
    guard let volume = virStorageVolCreateXML(pointer, xml, 0) else {
      throw Libvirt.lastFailure("creating a volume in pool \(name)")
    }
    return LibvirtVolume(owning: volume)
  }
}

/// A libvirt storage volume (a disk image in a pool).
final class LibvirtVolume: @unchecked Sendable {
  let pointer: OpaquePointer

  init(owning pointer: OpaquePointer) { self.pointer = pointer }
  deinit { virStorageVolFree(pointer) }

  var name: String { virStorageVolGetName(pointer).map { String(cString: $0) } ?? "" }

  func path() throws -> String { try Libvirt.takeString(virStorageVolGetPath(pointer), "reading a volume's path") }

  /// Provisioned size and the bytes the image really takes.
  func sizes() throws -> (capacity: Int64, allocation: Int64) {
    var info = virStorageVolInfo()
    try Libvirt.check(virStorageVolGetInfo(pointer, &info), "reading volume \(name)")
    return (Int64(clamping: info.capacity), Int64(clamping: info.allocation))
  }

  func xml() throws -> String { try Libvirt.takeString(virStorageVolGetXMLDesc(pointer, 0), "reading volume \(name)") }

  /// Starts sending the volume's bytes into `stream`.
  func download(into stream: LibvirtStream) throws {
    try Libvirt.check(virStorageVolDownload(pointer, stream.pointer, 0, 0, 0), "downloading volume \(name)")
  }

  /// Starts replacing the volume's bytes with what is written to `stream`.
  func upload(from stream: LibvirtStream) throws {
    try Libvirt.check(virStorageVolUpload(pointer, stream.pointer, 0, 0, 0), "uploading volume \(name)")
  }

  /// Deletes the volume's file and its definition.
  func delete() throws { try Libvirt.check(virStorageVolDelete(pointer, 0), "deleting volume \(name)") }
}

/// A blocking libvirt data stream (volume transfer, console), used by one thread at a time.
final class LibvirtStream {
  let pointer: OpaquePointer
  private var finished = false

  init(owning pointer: OpaquePointer) { self.pointer = pointer }

  deinit {
    if !finished { virStreamAbort(pointer) }
    virStreamFree(pointer)
  }

  /// Reads up to `buffer.count` bytes; 0 at the end of the stream.
  func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    guard let base = buffer.baseAddress else { return 0 }
    let count = virStreamRecv(pointer, base.assumingMemoryBound(to: CChar.self), buffer.count)
    if count < 0 { throw Libvirt.lastFailure("reading a stream") }
    return Int(count)
  }

  /// Writes all of `bytes`.
  func send(_ bytes: UnsafeRawBufferPointer) throws {
    guard let base = bytes.baseAddress else { return }
    var offset = 0
    while offset < bytes.count {
      let sent = virStreamSend(
        pointer, base.advanced(by: offset).assumingMemoryBound(to: CChar.self), bytes.count - offset)
      if sent < 0 { throw Libvirt.lastFailure("writing a stream") }
      offset += Int(sent)
    }
  }

  /// Ends the stream, telling the other side everything arrived.
  func finish() throws {
    finished = true
    try Libvirt.check(virStreamFinish(pointer), "finishing a stream")
  }
}
