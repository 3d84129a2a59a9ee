/// A QMP command that failed: QEMU's own error class and message, or a connection problem.
///
/// QEMU's classes are `GenericError`, `CommandNotFound`, `DeviceNotActive`, `DeviceNotFound`
/// and `KVMMissingCap`; failures of the connection itself use the `Ballast…` classes below.
public struct QMPError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The command that failed (`greeting` while connecting).
  public var command: String
  /// QEMU's error class, or one of the `Ballast…` classes.
  public var errorClass: String
  /// QEMU's message (`desc`), or what went wrong with the connection.
  public var message: String
  /// The QMP socket the command went to.
  public var socket: String

  public init(command: String, errorClass: String, message: String, socket: String) {
    self.command = command
    self.errorClass = errorClass
    self.message = message
    self.socket = socket
  }

  /// QEMU closed the connection (the process exited or was killed).
  public static let disconnected = "BallastDisconnected"
  /// No answer within the time allowed.
  public static let timeout = "BallastTimeout"
  /// The socket could not be opened or written.
  public static let socketError = "BallastSocketError"
  /// QEMU sent something that is not QMP.
  public static let protocolError = "BallastProtocolError"

  /// Whether QEMU itself refused the command (as opposed to a connection failure).
  public var isFromQEMU: Bool { !errorClass.hasPrefix("Ballast") }

  public var description: String {
    if isFromQEMU {
      return "QEMU refused \(command): \(message) (\(errorClass), socket \(socket))"
    }
    return "QMP \(command) on \(socket): \(message)"
  }
}

/// An asynchronous QMP event, e.g. `MIGRATION`, `STOP`, `SHUTDOWN`.
public struct QMPEvent: Sendable, Hashable {
  public var name: String
  /// The event's `data` member (`.null` when absent).
  public var data: JSONValue
  /// QEMU's timestamp, seconds since the Unix epoch.
  public var timestamp: Double
  /// Position in the connection's event sequence, from 0.
  public var sequence: Int

  public init(name: String, data: JSONValue, timestamp: Double, sequence: Int) {
    self.name = name
    self.data = data
    self.timestamp = timestamp
    self.sequence = sequence
  }
}
