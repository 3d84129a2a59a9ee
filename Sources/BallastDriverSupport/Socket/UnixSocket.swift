#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Thin wrappers over the C socket calls a driver's UNIX-socket connections need (QMP
/// monitors, the test guest's control port).
public enum UnixSocket {
  /// Longest socket path the kernel accepts (`sun_path` minus the terminating zero).
  public static let maxPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

  /// Connects to the stream socket at `path`; returns the descriptor or an `errno` message.
  public static func connect(path: String) -> Result<Int32, SocketFailure> {
    let bytes = Array(path.utf8)
    guard bytes.count <= maxPathLength else {
      return .failure(
        SocketFailure(
          code: ENAMETOOLONG,
          message: "socket path is \(bytes.count) bytes, longer than the \(maxPathLength) the kernel allows"))
    }
    #if canImport(Darwin)
      let fd = socket(AF_UNIX, SOCK_STREAM, 0)
    #else
      // Close-on-exec: QEMU processes started later must not inherit this connection.
      let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    #endif
    guard fd >= 0 else { return .failure(SocketFailure.fromErrno("socket")) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (i, byte) in bytes.enumerated() { raw[i] = byte }
      raw[bytes.count] = 0
    }
    let result = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        systemConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    if result != 0 {
      let failure = SocketFailure.fromErrno("connect")
      _ = close(fd)
      return .failure(failure)
    }
    return .success(fd)
  }

  /// Writes all of `bytes`, never raising SIGPIPE; returns an error message on failure.
  public static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> SocketFailure? {
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes { raw -> Int in
        guard let base = raw.baseAddress else { return 0 }
        #if canImport(Darwin)
          return send(fd, base + offset, bytes.count - offset, 0)
        #else
          return send(fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
        #endif
      }
      if written < 0 {
        if errno == EINTR { continue }
        return SocketFailure.fromErrno("send")
      }
      offset += written
    }
    return nil
  }

  /// Reads up to `buffer.count` bytes; 0 at end of stream, -1 on error.
  public static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Int {
    while true {
      let n = buffer.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress, raw.count) }
      if n < 0 && errno == EINTR { continue }
      return n
    }
  }

  /// Wakes a reader blocked on `fd` (it sees end of stream) without releasing the descriptor.
  public static func shutdownBoth(_ fd: Int32) {
    #if canImport(Darwin)
      _ = shutdown(fd, SHUT_RDWR)
    #else
      _ = shutdown(fd, Int32(SHUT_RDWR))
    #endif
  }

  /// Closes `fd`.
  public static func closeDescriptor(_ fd: Int32) { _ = close(fd) }
}

/// A failed socket call: its `errno` and a readable message.
public struct SocketFailure: Error, Sendable {
  /// The `errno` of the failed call.
  public var code: Int32
  /// The call and `strerror`'s text, e.g. `connect: Connection refused`.
  public var message: String

  static func fromErrno(_ call: String) -> SocketFailure {
    let code = errno
    return SocketFailure(code: code, message: "\(call): \(String(cString: strerror(code)))")
  }

  /// Whether retrying may help (the server is not listening yet).
  public var isTransient: Bool { code == ENOENT || code == ECONNREFUSED || code == EAGAIN }
}

// `connect` is shadowed by `UnixSocket.connect` inside the enum; call the C function by this name.
@inline(__always)
private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
  connect(fd, address, length)
}
