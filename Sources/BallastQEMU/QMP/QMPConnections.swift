import Logging

/// One shared QMP connection per QEMU process (QEMU serves one client per monitor socket).
///
/// Connections are opened on first use and reopened when the previous one ended.
public actor QMPConnections {
  private var clients: [String: QMPClient] = [:]
  private var connecting: [String: Task<QMPClient, any Error>] = [:]
  private let logger: Logger

  public init(logger: Logger) { self.logger = logger }

  /// The open connection to `socket`, connecting (waiting up to `timeout`) when needed.
  public func client(_ socket: String, timeout: Double = 10) async throws -> QMPClient {
    if let client = clients[socket] {
      if await client.isConnected { return client }
      clients[socket] = nil
    }
    if let task = connecting[socket] { return try await task.value }
    let logger = self.logger
    let task = Task { try await QMPClient.connect(path: socket, timeout: timeout, logger: logger) }
    connecting[socket] = task
    defer { connecting[socket] = nil }
    let client = try await task.value
    clients[socket] = client
    return client
  }

  /// Closes and forgets the connection to `socket` (before its QEMU is stopped or removed).
  public func drop(_ socket: String) async {
    if let client = clients.removeValue(forKey: socket) { await client.close() }
  }

  /// Closes every connection.
  public func closeAll() async {
    for client in clients.values { await client.close() }
    clients.removeAll()
  }
}
