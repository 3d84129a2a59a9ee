import BallastDriverSupport
import Foundation
import Logging

/// A connection to one QEMU process's QMP monitor (JSON over a UNIX socket).
///
/// ``connect(path:timeout:logger:)`` reads the greeting and negotiates capabilities; then
/// ``execute(_:_:timeout:)`` sends commands with ids and returns their `return` member, or
/// throws ``QMPError`` with QEMU's class and message. Events are kept in arrival order and can
/// be awaited with ``waitForEvent(_:since:timeout:)``. QEMU serves one client per monitor
/// socket: share a client (see ``QMPConnections``) rather than opening a second one.
/// Call ``close()`` when done; a client whose QEMU exits fails every pending command.
public actor QMPClient {
  /// The socket this client is connected to.
  public nonisolated let socketPath: String
  /// QEMU's greeting (`{"QMP": {"version": …, "capabilities": …}}`), once received.
  public private(set) var greeting: JSONValue = .null

  private let fd: Int32
  private let logger: Logger
  private var nextID = 0
  private var pending: [String: Pending] = [:]
  private var events: [QMPEvent] = []
  private var eventsDropped = 0
  private var eventWaiters: [UUID: EventWaiter] = [:]
  private var ended: QMPError?
  private var shutDown = false
  private static let eventsKept = 2000

  private struct Pending {
    var command: String
    var continuation: CheckedContinuation<JSONValue, any Error>
    var timer: Task<Void, Never>?
  }

  private struct EventWaiter {
    var names: Set<String>
    var continuation: CheckedContinuation<QMPEvent?, Never>
    var timer: Task<Void, Never>?
  }

  private init(socketPath: String, fd: Int32, logger: Logger) {
    self.socketPath = socketPath
    self.fd = fd
    self.logger = logger
  }

  /// Connects to the QMP socket at `path`, waiting up to `timeout` for QEMU to listen, reads
  /// the greeting and enters command mode (`qmp_capabilities`).
  public static func connect(path: String, timeout: TimeInterval = 10, logger: Logger) async throws -> QMPClient {
    let deadline = Date().addingTimeInterval(timeout)
    let fd = try await openSocket(path, until: deadline)
    let client = QMPClient(socketPath: path, fd: fd, logger: logger)
    await client.startReading()
    do {
      let remaining = max(deadline.timeIntervalSinceNow, 1)
      try await client.awaitGreeting(timeout: remaining)
      _ = try await client.execute("qmp_capabilities", timeout: remaining)
    } catch let error as QMPError where error.errorClass == .timeout && error.command == "greeting" {
      await client.close()
      throw QMPError(
        command: "greeting", errorClass: .timeout,
        message: "QEMU accepted the connection but sent no greeting; another client may hold the monitor",
        socket: path)
    } catch {
      await client.close()
      throw error
    }
    return client
  }

  /// Connects to the socket at `path`, trying again while QEMU is not listening yet, until `deadline`.
  private static func openSocket(_ path: String, until deadline: Date) async throws -> Int32 {
    while true {
      switch UnixSocket.connect(path: path) {
      case .success(let fd):
        return fd
      case .failure(let failure):
        guard failure.isTransient, Date() < deadline else {
          throw QMPError(
            command: "connect", errorClass: .socketError,
            message: failure.message + (failure.isTransient ? " (QEMU is not running or not listening yet)" : ""),
            socket: path)
        }
        try await Task.sleep(for: .milliseconds(50))
      }
    }
  }

  /// Waits for the greeting, which may already have arrived before anyone asked for it.
  private func awaitGreeting(timeout: TimeInterval) async throws {
    if greeting != .null { return }
    greeting = try await awaitResponse(id: "greeting", command: "greeting", timeout: timeout)
  }

  /// Sends `command` with `arguments` and returns its `return` member.
  /// Throws ``QMPError`` with QEMU's error class and message when QEMU refuses it, and when the
  /// connection fails or no answer comes within `timeout` seconds.
  @discardableResult
  public func execute(
    _ command: String, _ arguments: JSONValue? = nil, timeout: TimeInterval = 30
  ) async throws
    -> JSONValue
  {
    if let ended {
      throw QMPError(command: command, errorClass: ended.errorClass, message: ended.message, socket: socketPath)
    }
    nextID += 1
    let id = "ballast-\(nextID)"
    var message: [String: JSONValue] = ["execute": .string(command), "id": .string(id)]
    if let arguments { message["arguments"] = arguments }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    let bytes = Array(try encoder.encode(JSONValue.object(message))) + [10]
    if let failure = UnixSocket.sendAll(fd, bytes) {
      throw QMPError(command: command, errorClass: .socketError, message: failure.message, socket: socketPath)
    }
    logger.trace("qmp send", metadata: ["socket": "\(socketPath)", "command": "\(command)", "id": "\(id)"])
    return try await awaitResponse(id: id, command: command, timeout: timeout)
  }

  private func awaitResponse(id: String, command: String, timeout: TimeInterval) async throws -> JSONValue {
    try await withCheckedThrowingContinuation { continuation in
      if let ended {
        continuation.resume(
          throwing: QMPError(command: command, errorClass: ended.errorClass, message: ended.message, socket: socketPath)
        )
        return
      }
      let timer = Task { [weak self] in
        try? await Task.sleep(for: .seconds(timeout))
        guard !Task.isCancelled else { return }
        await self?.expire(id: id, after: timeout)
      }
      pending[id] = Pending(command: command, continuation: continuation, timer: timer)
    }
  }

  private func expire(id: String, after timeout: TimeInterval) {
    guard let entry = pending.removeValue(forKey: id) else { return }
    entry.continuation.resume(
      throwing: QMPError(
        command: entry.command, errorClass: .timeout,
        message: "no answer within \(Int(timeout.rounded()))s", socket: socketPath))
  }

  /// Number of events received so far: pass it as `since` to wait only for later events.
  public var eventCount: Int { eventsDropped + events.count }

  /// Events received at or after position `since`, oldest first.
  public func events(since: Int) -> [QMPEvent] {
    events.filter { $0.sequence >= since }
  }

  /// The first event named one of `names` at or after position `since`, waiting up to `timeout`
  /// seconds for it; `nil` when none came (or the connection ended).
  public func waitForEvent(_ names: Set<String>, since: Int, timeout: TimeInterval) async -> QMPEvent? {
    if let found = events.first(where: { $0.sequence >= since && names.contains($0.name) }) { return found }
    if ended != nil { return nil }
    let key = UUID()
    return await withCheckedContinuation { continuation in
      let timer = Task { [weak self] in
        try? await Task.sleep(for: .seconds(timeout))
        guard !Task.isCancelled else { return }
        await self?.expireWaiter(key)
      }
      eventWaiters[key] = EventWaiter(names: names, continuation: continuation, timer: timer)
    }
  }

  private func expireWaiter(_ key: UUID) {
    eventWaiters.removeValue(forKey: key)?.continuation.resume(returning: nil)
  }

  /// Whether the connection is still open.
  public var isConnected: Bool { ended == nil }

  /// Closes the connection; pending commands fail with ``QMPError/disconnected``.
  public func close() {
    guard !shutDown, ended == nil else { return }
    shutDown = true
    UnixSocket.shutdownBoth(fd)
  }

  // MARK: Reading

  private func startReading() {
    let (lines, continuation) = AsyncStream.makeStream(of: [UInt8].self)
    let fd = self.fd
    let thread = Thread {
      var buffer: [UInt8] = []
      var chunk = [UInt8](repeating: 0, count: 65536)
      while true {
        let n = UnixSocket.receive(fd, into: &chunk)
        if n <= 0 { break }
        buffer.append(contentsOf: chunk[0..<n])
        while let newline = buffer.firstIndex(of: 10) {
          continuation.yield(Array(buffer[..<newline]))
          buffer.removeSubrange(...newline)
        }
      }
      continuation.finish()
    }
    thread.name = "qmp-reader"
    thread.start()
    Task {
      for await line in lines { self.dispatch(line) }
      self.connectionEnded()
    }
  }

  private func dispatch(_ line: [UInt8]) {
    guard !line.allSatisfy({ $0 == 32 || $0 == 13 }) else { return }
    guard let message = try? JSONDecoder().decode(JSONValue.self, from: Data(line)) else {
      logger.warning(
        "QMP sent a line that is not JSON",
        metadata: ["socket": "\(socketPath)", "line": "\(String(decoding: line, as: UTF8.self))"])
      return
    }
    if message["QMP"] != nil {
      greeting = message
      resolve(id: "greeting", with: .success(message))
    } else if let name = message["event"]?.string {
      record(event: name, message: message)
    } else if let id = message["id"]?.string {
      if let value = message["return"] {
        resolve(id: id, with: .success(value))
      } else if let error = message["error"] {
        let command = pending[id]?.command ?? "?"
        resolve(
          id: id,
          with: .failure(
            QMPError(
              command: command, errorClass: QMPErrorClass(qemu: error["class"]?.string ?? "GenericError"),
              message: error["desc"]?.string ?? "\(error)", socket: socketPath)))
      }
    } else {
      logger.debug("QMP message without id", metadata: ["message": "\(message)"])
    }
  }

  private func resolve(id: String, with result: Result<JSONValue, QMPError>) {
    guard let entry = pending.removeValue(forKey: id) else { return }
    entry.timer?.cancel()
    entry.continuation.resume(with: result.mapError { $0 as any Error })
  }

  private func record(event name: String, message: JSONValue) {
    let seconds = message["timestamp"]?["seconds"]?.double ?? 0
    let micro = message["timestamp"]?["microseconds"]?.double ?? 0
    let event = QMPEvent(
      name: name, data: message["data"] ?? .null, timestamp: seconds + micro / 1e6, sequence: eventCount)
    logger.debug(
      "qmp event",
      metadata: [
        "socket": "\(socketPath)", "event": "\(name)", "data": "\(event.data)", "stamp": "\(event.timestamp)",
      ])
    events.append(event)
    if events.count > Self.eventsKept {
      events.removeFirst(events.count - Self.eventsKept / 2)
      eventsDropped = (events.first?.sequence ?? eventsDropped)
    }
    for (key, waiter) in eventWaiters where waiter.names.contains(name) {
      eventWaiters.removeValue(forKey: key)
      waiter.timer?.cancel()
      waiter.continuation.resume(returning: event)
    }
  }

  private func connectionEnded() {
    let error = QMPError(
      command: "", errorClass: .disconnected,
      message: shutDown ? "connection closed by Ballast" : "QEMU closed the connection (the process exited?)",
      socket: socketPath)
    ended = error
    UnixSocket.closeDescriptor(fd)
    for (_, entry) in pending {
      entry.timer?.cancel()
      entry.continuation.resume(
        throwing: QMPError(
          command: entry.command, errorClass: error.errorClass, message: error.message, socket: socketPath))
    }
    pending.removeAll()
    for (_, waiter) in eventWaiters {
      waiter.timer?.cancel()
      waiter.continuation.resume(returning: nil)
    }
    eventWaiters.removeAll()
  }
}
