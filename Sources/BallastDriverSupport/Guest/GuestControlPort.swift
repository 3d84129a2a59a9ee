import BallastEngine
import Foundation

/// A connection to the test guest's control port: the UNIX socket behind its second serial
/// port, which the hypervisor (QEMU directly, or libvirt's `<serial type='unix'>`) listens on.
///
/// QEMU serves one client at a time and discards input it has not handed to the guest when
/// the client hangs up, so keep the connection open until the guest acknowledged the line.
public struct GuestControlPort: Sendable {
  let fd: Int32

  /// Connects to `socket`, waiting up to `timeout` seconds for the hypervisor to listen.
  /// - Throws: `DriverError` naming `vm` and `host` when it cannot connect in time.
  public static func open(
    _ socket: String, vm: String, host: String, timeout: TimeInterval = 5
  ) async throws -> GuestControlPort {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      switch UnixSocket.connect(path: socket) {
      case .success(let fd):
        return GuestControlPort(fd: fd)
      case .failure(let failure):
        guard failure.isTransient, Date() < deadline else {
          throw DriverError(
            vm: vm, host: host, "cannot reach the guest's control port \(socket): \(failure.message)",
            hint: "restart the VM if it was started before the lab had control ports")
        }
        try await Task.sleep(for: .milliseconds(50))
      }
    }
  }

  /// Writes `line` (with its newline) to the guest.
  /// - Throws: `DriverError` naming `vm` and `host` when the write fails.
  public func send(_ line: String, vm: String, host: String) throws {
    if let failure = UnixSocket.sendAll(fd, Array(line.utf8)) {
      throw DriverError(vm: vm, host: host, "cannot write to the guest's control port: \(failure.message)")
    }
  }

  /// Closes the connection.
  public func close() { UnixSocket.closeDescriptor(fd) }
}
