import BallastEngine
import Foundation

/// A connection to the test guest's control port: the UNIX socket behind its COM2.
///
/// QEMU serves one client at a time and discards input it has not handed to the guest when
/// the client hangs up, so keep the connection open until the guest acknowledged the line.
struct GuestControlPort {
  let fd: Int32

  /// Connects to `socket`, waiting up to `timeout` seconds for QEMU to listen.
  static func open(
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

  func send(_ line: String, vm: String, host: String) throws {
    if let failure = UnixSocket.sendAll(fd, Array(line.utf8)) {
      throw DriverError(vm: vm, host: host, "cannot write to the guest's control port: \(failure.message)")
    }
  }

  func close() { UnixSocket.closeDescriptor(fd) }
}
