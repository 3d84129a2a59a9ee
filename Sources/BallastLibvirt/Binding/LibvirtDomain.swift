import CLibvirt
import Foundation

/// A libvirt domain (a VM on one host). Its methods block: call them inside ``Libvirt/run(_:_:)``.
/// Domain handles are thread-safe in libvirt, hence `Sendable`.
final class LibvirtDomain: @unchecked Sendable {
  let pointer: OpaquePointer

  init(owning pointer: OpaquePointer) { self.pointer = pointer }

  deinit { virDomainFree(pointer) }

  var name: String { virDomainGetName(pointer).map { String(cString: $0) } ?? "" }

  /// libvirt's state and its reason (`VIR_DOMAIN_PAUSED` with `VIR_DOMAIN_PAUSED_MIGRATION`, …).
  func state() throws -> (state: UInt32, reason: Int32) {
    var state: Int32 = 0
    var reason: Int32 = 0
    try Libvirt.check(virDomainGetState(pointer, &state, &reason, 0), "reading the domain's state")
    return (UInt32(bitPattern: state), reason)
  }

  /// Whether the domain is defined persistently (survives a shutdown).
  var isPersistent: Bool { virDomainIsPersistent(pointer) == 1 }

  /// The domain's XML; `migratable` leaves out what only makes sense on this host.
  func xml(inactive: Bool = false, migratable: Bool = false) throws -> String {
    var flags: UInt32 = 0
    if inactive { flags |= VIR_DOMAIN_XML_INACTIVE.rawValue }
    if migratable { flags |= VIR_DOMAIN_XML_MIGRATABLE.rawValue }
    return try Libvirt.takeString(virDomainGetXMLDesc(pointer, flags), "reading the domain's XML")
  }

  /// The job running now (`completed: false`) or the last completed one, with its figures.
  func jobStats(completed: Bool = false) throws -> LibvirtJob {
    var type: Int32 = 0
    var params: virTypedParameterPtr?
    var count: Int32 = 0
    let flags = completed ? VIR_DOMAIN_JOB_STATS_COMPLETED.rawValue : 0
    try Libvirt.check(virDomainGetJobStats(pointer, &type, &params, &count, flags), "reading the domain's job")
    defer { virTypedParamsFree(params, count) }
    return LibvirtJob(type: UInt32(bitPattern: type), figures: TypedParameters.read(params, count: count))
  }

  /// Client-managed live migration to `destination`; returns the domain there.
  func migrate(
    to destination: LibvirtConnection, parameters: TypedParameterList, flags: UInt32
  ) throws
    -> LibvirtDomain
  {
    guard
      let migrated = virDomainMigrate3(
        pointer, destination.pointer, parameters.pointer, UInt32(parameters.count), flags)
    else { throw Libvirt.lastFailure("migrating the domain") }
    return LibvirtDomain(owning: migrated)
  }

  /// Peer-to-peer migration: the source daemon connects to `destinationURI` itself.
  func migrate(toURI destinationURI: String, parameters: TypedParameterList, flags: UInt32) throws {
    try Libvirt.check(
      virDomainMigrateToURI3(pointer, destinationURI, parameters.pointer, UInt32(parameters.count), flags),
      "migrating the domain")
  }

  /// The most downtime the final copy of a live migration running now may take.
  func setMaxDowntime(milliseconds: UInt64) throws {
    try Libvirt.check(virDomainMigrateSetMaxDowntime(pointer, milliseconds, 0), "setting the downtime limit")
  }

  /// Cancels the job running now (a migration: the VM stays on its source).
  func abortJob() throws { try Libvirt.check(virDomainAbortJob(pointer), "aborting the domain's job") }

  func resume() throws { try Libvirt.check(virDomainResume(pointer), "resuming the domain") }
  func suspend() throws { try Libvirt.check(virDomainSuspend(pointer), "pausing the domain") }
  func start() throws { try Libvirt.check(virDomainCreate(pointer), "starting the domain") }
  /// Asks the guest to shut down (ACPI); returns at once.
  func shutdown() throws { try Libvirt.check(virDomainShutdown(pointer), "shutting the domain down") }
  /// Stops the domain at once, like pulling the plug.
  func destroy() throws { try Libvirt.check(virDomainDestroy(pointer), "stopping the domain") }

  /// Removes the domain's persistent definition (and its managed save image, snapshots'
  /// metadata and NVRAM, which would otherwise block it).
  func undefine() throws {
    let flags =
      VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue
      | VIR_DOMAIN_UNDEFINE_NVRAM.rawValue | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue
    try Libvirt.check(virDomainUndefineFlags(pointer, flags), "undefining the domain")
  }

  /// `count` bytes of the guest's physical memory at `address`.
  func peekPhysicalMemory(at address: UInt64, count: Int) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: count)
    let result = buffer.withUnsafeMutableBytes { bytes in
      virDomainMemoryPeek(pointer, address, count, bytes.baseAddress, VIR_MEMORY_PHYSICAL.rawValue)
    }
    try Libvirt.check(result, "reading the guest's memory")
    return buffer
  }

  /// A stream to the guest's serial port `device` (`serial1`).
  func openConsole(_ device: String, on connection: LibvirtConnection) throws -> LibvirtStream {
    let stream = try connection.newStream()
    try Libvirt.check(
      virDomainOpenConsole(pointer, device, stream.pointer, VIR_DOMAIN_CONSOLE_FORCE.rawValue),
      "opening the guest's \(device)")
    return stream
  }
}

/// A domain's job and its figures (`virDomainGetJobStats`).
struct LibvirtJob: Sendable {
  /// `VIR_DOMAIN_JOB_NONE`, `_BOUNDED`, `_UNBOUNDED`, `_COMPLETED`, `_FAILED`, `_CANCELLED`.
  var type: UInt32
  var figures: [String: TypedValue]

  /// Whether a job runs now.
  var isRunning: Bool {
    type == VIR_DOMAIN_JOB_BOUNDED.rawValue || type == VIR_DOMAIN_JOB_UNBOUNDED.rawValue
  }

  /// The job's operation (`VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN` / `_OUT`), when reported.
  var operation: Int64? {
    if case .integer(let value) = figures[VIR_DOMAIN_JOB_OPERATION] { return value }
    return nil
  }

  var isIncomingMigration: Bool { operation == Int64(VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN.rawValue) }
  var isOutgoingMigration: Bool { operation == Int64(VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT.rawValue) }

  func number(_ field: String) -> Double? { figures[field]?.number }
}
