import BallastRuntime
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Tells systemd how the loop is doing (`sd_notify`), for a unit with `Type=notify`:
/// `READY=1` when the first round starts (the history is reconciled, the endpoint listens),
/// `STATUS=` with each round's decision (shown by `systemctl status`), and `STOPPING=1` when
/// SIGTERM arrives.
///
/// systemd passes the socket in `$NOTIFY_SOCKET` (a path, or `@name` in the abstract
/// namespace); without it (not under systemd) every call does nothing. A datagram that cannot
/// be sent is dropped: systemd's view must never stop the loop.
public final class SystemdNotifier: LoopObserver, LoopRoleObserver, Sendable {
  /// The socket's address, `nil` when not run by systemd.
  public let socketPath: String?
  private let ready = ReadyOnce()

  /// A notifier for `environment`'s `NOTIFY_SOCKET`.
  public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    let path = environment["NOTIFY_SOCKET"] ?? ""
    // A socket address holds at most 107 bytes of path; anything else is not systemd's socket.
    self.socketPath = (path.hasPrefix("/") || path.hasPrefix("@")) && path.utf8.count < 108 ? path : nil
  }

  public func roundStarted() {
    if ready.first() { send("READY=1\nSTATUS=first round running") }
  }

  public func roundEnded(_ report: RoundReport) { send("STATUS=\(Self.oneLine(report.line))") }

  public func roundFailed(_ error: any Error) { send("STATUS=round failed: \(Self.oneLine("\(error)"))") }

  public func loopStopping() { send("STOPPING=1\nSTATUS=stopping: migrations in flight finish or abort") }

  /// A standby is started as soon as it stands by (it runs no round until it takes the lead).
  public func standingBy(leader: String) {
    let status = "STATUS=standing by: \(Self.oneLine(leader)) balances the cluster"
    send(ready.first() ? "READY=1\n" + status : status)
  }

  public func becameActive() { send("STATUS=leading the balancing of the cluster") }

  /// `text` on one line, short enough for a status line.
  static func oneLine(_ text: String) -> String {
    String(text.map { $0.isNewline ? " " : $0 }.prefix(400))
  }

  /// Sends `message` as one datagram; returns whether it went.
  @discardableResult
  public func send(_ message: String) -> Bool {
    guard let socketPath else { return false }
    #if canImport(Glibc)
      let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    #else
      let descriptor = socket(AF_UNIX, SOCK_DGRAM, 0)
    #endif
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    var pathBytes = Array(socketPath.utf8)
    if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }  // the abstract namespace
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard pathBytes.count < capacity else { return false }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      raw.copyBytes(from: pathBytes)
    }
    let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2) + socklen_t(pathBytes.count)
    #if canImport(Glibc)
      let flags = Int32(MSG_NOSIGNAL)
    #else
      let flags: Int32 = 0
    #endif
    let sent = message.utf8CString.withUnsafeBufferPointer { text in
      withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
          sendto(descriptor, text.baseAddress, text.count - 1, flags, socketAddress, length)
        }
      }
    }
    return sent >= 0
  }
}

/// True the first time only.
private final class ReadyOnce: Sendable {
  private let done = Mutex(false)

  func first() -> Bool {
    done.withLock { done in
      defer { done = true }
      return !done
    }
  }
}
