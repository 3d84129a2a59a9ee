import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads an input file (cluster, policy, trace) as UTF-8 text, saying precisely what is wrong
/// when it cannot: the file is checked before it is read, and opened without blocking, so a
/// FIFO or device given by mistake is refused instead of hanging the command.
enum TextFile {
  /// The largest input file read: far above any real cluster file (a 100,000-VM cluster is
  /// about 30 MB), small enough that a wrong path cannot exhaust memory.
  static let maximumBytes = 256 << 20

  /// The text of the regular file at `path`.
  /// - Throws: ``FileErrors`` with one issue naming the file and the problem (for bad UTF-8,
  ///   the line and column of the first bad byte).
  static func read(_ path: String) throws -> String {
    var info = stat()
    guard stat(path, &info) == 0 else { throw failure(path, errno, action: "reach") }
    if let problem = kindProblem(info.st_mode) { throw FileErrors([issue(path, problem)]) }
    let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
    guard descriptor >= 0 else { throw failure(path, errno, action: "open") }
    defer { close(descriptor) }
    // The path may have been replaced between stat and open: check what was opened.
    guard fstat(descriptor, &info) == 0 else { throw failure(path, errno, action: "inspect") }
    if let problem = kindProblem(info.st_mode) { throw FileErrors([issue(path, problem)]) }
    guard Int(info.st_size) <= maximumBytes else {
      throw FileErrors([
        issue(
          path, "the file has \(info.st_size) bytes, more than the \(maximumBytes >> 20) MiB an input file may have")
      ])
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(info.st_size))
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      let count = chunk.withUnsafeMutableBytes { readBytes(descriptor, $0.baseAddress, $0.count) }
      if count == 0 { break }
      if count < 0 {
        if errno == EINTR { continue }
        throw failure(path, errno, action: "read")
      }
      bytes += chunk[0..<count]
      if bytes.count > maximumBytes {
        throw FileErrors([issue(path, "the file is larger than the \(maximumBytes >> 20) MiB an input file may have")])
      }
    }
    return try decode(bytes, file: path)
  }

  /// `bytes` as UTF-8 text, or the position of the first byte that is not UTF-8.
  static func decode(_ bytes: [UInt8], file: String) throws -> String {
    if let text = String(validating: bytes, as: UTF8.self) { return text }
    var line = 1
    var column = 1
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
      switch decoder.decode(&iterator) {
      case .scalarValue(let scalar):
        if scalar == "\n" {
          line += 1
          column = 1
        } else {
          column += 1
        }
      case .emptyInput:
        return String(decoding: bytes, as: UTF8.self)
      case .error:
        throw FileErrors([
          FileIssue(
            file: file, line: line, column: column, keyPath: "",
            message: "not UTF-8 text: a byte here is not valid UTF-8; save the file as UTF-8")
        ])
      }
    }
  }

  /// What is wrong with a file of mode `mode` as input, or `nil` for a regular file.
  private static func kindProblem(_ mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFREG: nil
    case S_IFDIR: "this is a directory, not a file; give the path of a file"
    case S_IFIFO: "this is a FIFO (named pipe), not a regular file; Ballast reads input only from regular files"
    case S_IFSOCK: "this is a socket, not a regular file"
    case S_IFCHR, S_IFBLK: "this is a device, not a regular file"
    default: "this is not a regular file"
    }
  }

  static func failure(_ path: String, _ code: Int32, action: String) -> FileErrors {
    let message =
      switch code {
      case ENOENT: "no such file; check the path"
      case EACCES, EPERM:
        "permission denied: this user may not \(action) the file; check its permissions and its folders'"
      case ENOTDIR: "a component of the path is not a directory; check the path"
      case ELOOP: "too many symbolic links on the path"
      case ENAMETOOLONG: "the path is too long"
      case EISDIR: "this is a directory, not a file; give the path of a file"
      default: "cannot \(action) the file: \(String(cString: strerror(code)))"
      }
    return FileErrors([issue(path, message)])
  }

  private static func issue(_ path: String, _ message: String) -> FileIssue {
    FileIssue(file: path, line: 0, column: 0, keyPath: "", message: message)
  }
}

/// `read(2)`, under a name the type's own `read` does not hide.
private func readBytes(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
  read(descriptor, buffer, count)
}
