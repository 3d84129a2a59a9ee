import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Replaces files atomically and safely: readers see the old or the new file, never a mix,
/// and nothing planted in the folder can redirect the write.
///
/// The new content goes to a temporary file created exclusively (`O_CREAT | O_EXCL |
/// O_NOFOLLOW`, a random name) in the target's folder, is flushed to disk, gets its
/// permissions, and is renamed over the target; the folder is then flushed too. A symlink
/// at the target is replaced, never followed.
public enum AtomicFile {
  /// Replaces `path` with `text` (UTF-8). See ``write(_:to:permissions:)-(Data,_,_)``.
  public static func write(_ text: String, to path: String, permissions: mode_t? = nil) throws {
    try write(Data(text.utf8), to: path, permissions: permissions)
  }

  /// Replaces `path` with `data`.
  ///
  /// - Parameter permissions: the new file's mode, whatever the umask (`0o600` for files only
  ///   their owner may read); `nil` keeps the mode of the file it replaces, or gives a new
  ///   file the usual `0o666` less the umask.
  /// - Throws: ``FileErrors`` naming the file and what went wrong.
  public static func write(_ data: Data, to path: String, permissions: mode_t? = nil) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    var existing = stat()
    let previousMode =
      lstat(path, &existing) == 0 && (existing.st_mode & S_IFMT) == S_IFREG
      ? existing.st_mode & 0o7777 : nil
    let (descriptor, temporary) = try createTemporary(in: folder, for: url.lastPathComponent, target: path)
    var written = false
    defer {
      if !written { unlink(temporary) }
    }
    do {
      defer { close(descriptor) }
      try writeAll(data, to: descriptor)
      if let mode = permissions ?? previousMode, fchmod(descriptor, mode) != 0 {
        throw Errno(errno, "set the permissions of")
      }
      if fsync(descriptor) != 0 { throw Errno(errno, "flush") }
    } catch let error as Errno {
      throw failure(path, error)
    }
    guard rename(temporary, path) == 0 else { throw failure(path, Errno(errno, "rename the new file onto")) }
    written = true
    let folderDescriptor = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if folderDescriptor >= 0 {
      _ = fsync(folderDescriptor)
      close(folderDescriptor)
    }
  }

  /// A new, empty file only this call created: `.<name>.<random>.tmp` beside the target.
  private static func createTemporary(in folder: String, for name: String, target: String) throws -> (Int32, String) {
    let shortName = name.utf8.count > 200 ? String(name.prefix(40)) : name
    for _ in 0..<16 {
      let random = String(UInt64.random(in: .min ... .max), radix: 36)
      let temporary = (folder.isEmpty ? "" : folder + "/") + ".\(shortName).\(random).tmp"
      let descriptor = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o666)
      if descriptor >= 0 { return (descriptor, temporary) }
      if errno != EEXIST { throw failure(target, Errno(errno, "create a temporary file beside")) }
    }
    throw failure(target, Errno(EEXIST, "create a temporary file beside"))
  }

  private static func writeAll(_ data: Data, to descriptor: Int32) throws {
    try data.withUnsafeBytes { buffer in
      var offset = 0
      while offset < buffer.count {
        let count = systemWrite(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
        if count < 0 {
          if errno == EINTR { continue }
          throw Errno(errno, "write")
        }
        offset += count
      }
    }
  }

  /// A failed system call: its error number and what it was doing.
  struct Errno: Error {
    var code: Int32
    var action: String

    init(_ code: Int32, _ action: String) {
      self.code = code
      self.action = action
    }
  }

  private static func failure(_ path: String, _ error: Errno) -> FileErrors {
    let reason = String(cString: strerror(error.code))
    return FileErrors([
      FileIssue(
        file: path, line: 0, column: 0, keyPath: "",
        message: "cannot \(error.action) the file (\(reason)); check the folder exists and is writable")
    ])
  }
}

/// `write(2)`, under a name `AtomicFile.write` does not hide.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
  write(descriptor, buffer, count)
}
