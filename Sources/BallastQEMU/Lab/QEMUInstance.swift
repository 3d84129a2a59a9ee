import BallastDriverSupport
import BallastModel
import Foundation

/// A live QEMU process of one VM on one lab host.
public struct QEMUInstance: Sendable, Hashable {
  public var vm: String
  public var host: String
  public var pid: Int32
  /// The QMP socket (also the marker that tells this QEMU from a recycled pid).
  public var socket: String

  /// Whether the process is still alive. QEMU got the socket's path as an option value, with
  /// its commas doubled (``SafeName/qemuOptionValue(_:)``): that is what its command line holds.
  public var isAlive: Bool {
    ProcessInspector.isAlive(pid, commandLineContains: SafeName.qemuOptionValue(socket))
  }
}
