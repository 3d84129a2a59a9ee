import BallastDriverSupport
import BallastEngine
import CLibvirt
import Foundation
import Synchronization

/// libvirt's report of a failed call: its message, error code and the subsystem that raised it.
public struct LibvirtFailure: Error, Sendable, Hashable, CustomStringConvertible {
  /// libvirt's `virErrorNumber` (`VIR_ERR_NO_DOMAIN` = 42, …).
  public var code: Int32
  /// libvirt's `virErrorDomain`: which part of libvirt failed.
  public var domain: Int32
  /// libvirt's message, as `virsh` would print it.
  public var message: String

  public var description: String { message }

  /// The domain (VM) does not exist on that connection.
  public var isNoDomain: Bool { code == Int32(VIR_ERR_NO_DOMAIN.rawValue) }
  /// No storage volume or pool of that name.
  public var isNoStorage: Bool {
    code == Int32(VIR_ERR_NO_STORAGE_VOL.rawValue) || code == Int32(VIR_ERR_NO_STORAGE_POOL.rawValue)
  }
  /// The request does not apply in the domain's state (already running, no job to abort, …).
  public var isInvalidOperation: Bool { code == Int32(VIR_ERR_OPERATION_INVALID.rawValue) }
  /// The connection to the daemon broke or could not be made.
  public var isConnectionProblem: Bool {
    code == Int32(VIR_ERR_SYSTEM_ERROR.rawValue) || code == Int32(VIR_ERR_RPC.rawValue)
      || code == Int32(VIR_ERR_NO_CONNECT.rawValue) || code == Int32(VIR_ERR_INVALID_CONN.rawValue)
  }
  /// The domain's CPU cannot run on that host's CPU.
  public var isCPUIncompatible: Bool { code == Int32(VIR_ERR_CPU_INCOMPATIBLE.rawValue) }

  /// What sort of driver failure this is: connection problems are `unreachable`, a timeout or
  /// a busy domain `transient`, a request that does not apply `refused`, the rest `failed`.
  public var kind: DriverError.Kind {
    if isConnectionProblem { return .unreachable }
    if code == Int32(VIR_ERR_OPERATION_TIMEOUT.rawValue) || code == Int32(VIR_ERR_AGENT_UNRESPONSIVE.rawValue) {
      return .transient
    }
    if isNoDomain || isNoStorage || isInvalidOperation || isCPUIncompatible
      || code == Int32(VIR_ERR_OPERATION_UNSUPPORTED.rawValue) || code == Int32(VIR_ERR_MIGRATE_UNSAFE.rawValue)
    {
      return .refused
    }
    return .failed
  }
}

/// Process-wide setup of the libvirt library and the way every call into it is made.
///
/// libvirt's calls block (they wait for a daemon, often for seconds), so ``run(_:_:)`` makes
/// each one on a thread of its own, off Swift's cooperative pool, and reads libvirt's
/// thread-local error on that same thread.
public enum Libvirt {
  private static let initialized = Mutex(false)

  /// Initializes libvirt once: threads, no error printing to standard error (every failure is
  /// returned as a ``LibvirtFailure`` instead), SIGPIPE ignored process-wide, and libvirt's
  /// event loop running (for keepalives). Process-wide because libvirt's state is.
  static func initialize() {
    initialized.withLock { done in
      guard !done else { return }
      _ = virInitialize()
      virSetErrorFunc(nil, ignoreLibvirtError)
      // libvirt's own event loop, on a thread of its own for the life of the process: it sends
      // the keepalive messages that notice a dead daemon or host in seconds, where a blocked
      // call would otherwise wait for TCP to give up.
      if virEventRegisterDefaultImpl() == 0 {
        let loop = Thread {
          while true { _ = virEventRunDefaultImpl() }
        }
        loop.name = "libvirt: event loop"
        loop.start()
      }
      // A daemon that dies mid-call closes its socket; libvirt's next write must fail with an
      // error, not kill Ballast with SIGPIPE (libvirt leaves this to the application).
      signal(SIGPIPE, SIG_IGN)
      done = true
    }
  }

  /// Runs `body`, whose libvirt calls block, on a thread of its own named `what`.
  static func run<T: Sendable>(_ what: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    initialize()
    return try await BlockingWork.run("libvirt: \(what)") {
      virResetLastError()
      return try body()
    }
  }

  /// The failure libvirt recorded for the calling thread's last call.
  static func lastFailure(_ fallback: String = "libvirt reported a failure without a message") -> LibvirtFailure {
    guard let error = virGetLastError() else { return LibvirtFailure(code: -1, domain: -1, message: fallback) }
    let message = error.pointee.message.map { String(cString: $0) } ?? fallback
    return LibvirtFailure(code: error.pointee.code, domain: error.pointee.domain, message: message)
  }

  /// Throws ``lastFailure(_:)`` when `result` is negative (libvirt's convention for errors).
  @discardableResult
  static func check(_ result: Int32, _ what: String) throws -> Int32 {
    if result < 0 { throw lastFailure("\(what) failed") }
    return result
  }

  /// A string libvirt allocated, copied, then freed; throws when it is `nil`.
  static func takeString(_ pointer: UnsafeMutablePointer<CChar>?, _ what: String) throws -> String {
    guard let pointer else { throw lastFailure("\(what) failed") }
    defer { free(pointer) }
    return String(cString: pointer)
  }
}

/// Called by libvirt for every error instead of printing it; the error is read from
/// `virGetLastError` by the caller.
private func ignoreLibvirtError(_ data: UnsafeMutableRawPointer?, _ error: virErrorPtr?) {}
