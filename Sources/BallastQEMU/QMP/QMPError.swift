/// The class of a failed QMP command: QEMU's own (its `ErrorClass`), or a failure of the
/// connection itself (Ballast's).
public enum QMPErrorClass: Sendable, Hashable, CustomStringConvertible {
  // QEMU's classes.
  /// `GenericError`: QEMU refused the command (most refusals).
  case genericError
  /// `CommandNotFound`: this QEMU has no such command.
  case commandNotFound
  /// `DeviceNotActive`.
  case deviceNotActive
  /// `DeviceNotFound`.
  case deviceNotFound
  /// `KVMMissingCap`: KVM lacks a capability the command needs.
  case kvmMissingCap
  /// A class this client does not know (a newer QEMU), by QEMU's name.
  case otherQEMU(String)
  // The connection's.
  /// QEMU closed the connection (the process exited or was killed).
  case disconnected
  /// No answer within the time allowed.
  case timeout
  /// The socket could not be opened or written.
  case socketError

  /// The class QEMU names `name` in an error reply.
  public init(qemu name: String) {
    switch name {
    case "GenericError": self = .genericError
    case "CommandNotFound": self = .commandNotFound
    case "DeviceNotActive": self = .deviceNotActive
    case "DeviceNotFound": self = .deviceNotFound
    case "KVMMissingCap": self = .kvmMissingCap
    default: self = .otherQEMU(name)
    }
  }

  /// QEMU's name of the class, or `Ballast…` for the connection's.
  public var name: String {
    switch self {
    case .genericError: "GenericError"
    case .commandNotFound: "CommandNotFound"
    case .deviceNotActive: "DeviceNotActive"
    case .deviceNotFound: "DeviceNotFound"
    case .kvmMissingCap: "KVMMissingCap"
    case .otherQEMU(let name): name
    case .disconnected: "BallastDisconnected"
    case .timeout: "BallastTimeout"
    case .socketError: "BallastSocketError"
    }
  }

  /// Whether QEMU itself refused the command (as opposed to a connection failure).
  public var isFromQEMU: Bool {
    switch self {
    case .disconnected, .timeout, .socketError: false
    default: true
    }
  }

  public var description: String { name }
}

/// A QMP command that failed: QEMU's own error class and message, or a connection problem.
public struct QMPError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The command that failed (`greeting` while connecting).
  public var command: String
  /// QEMU's error class, or the connection's.
  public var errorClass: QMPErrorClass
  /// QEMU's message (`desc`), or what went wrong with the connection.
  public var message: String
  /// The QMP socket the command went to.
  public var socket: String

  public init(command: String, errorClass: QMPErrorClass, message: String, socket: String) {
    self.command = command
    self.errorClass = errorClass
    self.message = message
    self.socket = socket
  }

  /// Whether QEMU itself refused the command (as opposed to a connection failure).
  public var isFromQEMU: Bool { errorClass.isFromQEMU }

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
