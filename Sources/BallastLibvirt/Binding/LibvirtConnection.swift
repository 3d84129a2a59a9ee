import CLibvirt
import Foundation

/// An open connection to one libvirt daemon. Its methods block: call them inside
/// ``Libvirt/run(_:_:)``.
///
/// libvirt's connection objects are thread-safe (several threads may call into one connection
/// at once; the remote driver multiplexes them), which is what makes this class `Sendable`.
final class LibvirtConnection: @unchecked Sendable {
  let pointer: OpaquePointer
  let uri: String

  private init(pointer: OpaquePointer, uri: String) {
    self.pointer = pointer
    self.uri = uri
  }

  deinit { virConnectClose(pointer) }

  /// Opens `uri` with libvirt's own authentication (SSH keys, TLS certificates, polkit; no
  /// interactive prompt is ever answered), with keepalives on.
  static func open(_ uri: String) throws -> LibvirtConnection {
    Libvirt.initialize()
    guard let pointer = virConnectOpen(uri) else { throw Libvirt.lastFailure("cannot connect to \(uri)") }
    // A daemon that misses 3 keepalives 5 s apart is taken for dead: calls on it fail instead
    // of hanging (local drivers have no keepalive; that is fine).
    _ = virConnectSetKeepAlive(pointer, 5, 3)
    virResetLastError()
    return LibvirtConnection(pointer: pointer, uri: uri)
  }

  /// Whether the connection is still open (as far as libvirt knows without asking).
  var isAlive: Bool { virConnectIsAlive(pointer) == 1 }

  /// Asks the daemon something cheap; throws when it does not answer.
  func ping() throws {
    var version: UInt = 0
    try Libvirt.check(virConnectGetLibVersion(pointer, &version), "asking the daemon its version")
  }

  /// The host's name as its daemon reports it.
  func hostname() throws -> String {
    try Libvirt.takeString(virConnectGetHostname(pointer), "reading the hostname")
  }

  /// CPU count and memory of the host.
  func nodeInfo() throws -> (cpus: Int, memoryBytes: Int64) {
    var info = virNodeInfo()
    try Libvirt.check(virNodeGetInfo(pointer, &info), "reading the node's info")
    let memory = Int64(clamping: info.memory).multipliedReportingOverflow(by: 1024)
    return (Int(info.cpus), memory.overflow ? Int64.max : memory.partialValue)
  }

  /// The capabilities XML (host CPU model and features, host UUID).
  func capabilities() throws -> String {
    try Libvirt.takeString(virConnectGetCapabilities(pointer), "reading the capabilities")
  }

  /// Every domain the daemon knows, running or only defined.
  func allDomains() throws -> [LibvirtDomain] {
    var list: UnsafeMutablePointer<OpaquePointer?>?
    let count = try Libvirt.check(virConnectListAllDomains(pointer, &list, 0), "listing the domains")
    defer { free(list) }
    guard let list else { return [] }
    return (0..<Int(count)).compactMap { list[$0].map(LibvirtDomain.init(owning:)) }
  }

  /// The domain called `name`, or `nil` when the daemon has none.
  func domain(named name: String) throws -> LibvirtDomain? {
    if let pointer = virDomainLookupByName(pointer, name) { return LibvirtDomain(owning: pointer) }
    let failure = Libvirt.lastFailure()
    if failure.isNoDomain { return nil }
    throw failure
  }

  /// State, CPU time, balloon, vCPU and block figures of every domain, in ONE call
  /// (`virConnectGetAllDomainStats`): the figures, keyed by field name, per domain name.
  func allDomainStats() throws -> [String: [String: TypedValue]] {
    let groups =
      VIR_DOMAIN_STATS_STATE.rawValue | VIR_DOMAIN_STATS_CPU_TOTAL.rawValue | VIR_DOMAIN_STATS_BALLOON.rawValue
      | VIR_DOMAIN_STATS_VCPU.rawValue | VIR_DOMAIN_STATS_BLOCK.rawValue
    var records: UnsafeMutablePointer<virDomainStatsRecordPtr?>?
    let count = try Libvirt.check(
      virConnectGetAllDomainStats(pointer, groups, &records, 0), "reading the domains' statistics")
    defer { virDomainStatsRecordListFree(records) }
    guard let records else { return [:] }
    var result: [String: [String: TypedValue]] = [:]
    for i in 0..<Int(count) {
      guard let record = records[i], let name = virDomainGetName(record.pointee.dom) else { continue }
      result[String(cString: name)] = TypedParameters.read(record.pointee.params, count: record.pointee.nparams)
    }
    return result
  }

  /// Defines (persistently) the domain `xml` describes.
  func define(_ xml: String) throws -> LibvirtDomain {
    guard let domain = virDomainDefineXML(pointer, xml) else { throw Libvirt.lastFailure("defining the domain") }
    return LibvirtDomain(owning: domain)
  }

  /// libvirt's verdict on whether this host can run a guest CPU described by `cpuXML` (a
  /// `<cpu>` element): `true` when identical or a superset.
  func canRun(cpuXML: String) throws -> Bool {
    let result = virConnectCompareHypervisorCPU(pointer, nil, nil, nil, nil, cpuXML, 0)
    if result == VIR_CPU_COMPARE_ERROR.rawValue {
      let failure = Libvirt.lastFailure()
      if failure.isCPUIncompatible { return false }
      throw failure
    }
    return result == VIR_CPU_COMPARE_IDENTICAL.rawValue || result == VIR_CPU_COMPARE_SUPERSET.rawValue
  }

  /// `cpuXML` with its model's features written out (`virConnectBaselineHypervisorCPU` with
  /// `VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES`).
  func expandCPU(_ cpuXML: String) throws -> String {
    try cpuXML.withCString { cString in
      var list: [UnsafePointer<CChar>?] = [cString]
      return try Libvirt.takeString(
        virConnectBaselineHypervisorCPU(
          pointer, nil, nil, nil, nil, &list, 1, VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES.rawValue),
        "expanding a CPU model")
    }
  }

  /// Every storage pool, with its XML.
  func storagePools() throws -> [LibvirtStoragePool] {
    var list: UnsafeMutablePointer<OpaquePointer?>?
    let count = try Libvirt.check(virConnectListAllStoragePools(pointer, &list, 0), "listing the storage pools")
    defer { free(list) }
    guard let list else { return [] }
    return (0..<Int(count)).compactMap { list[$0].map(LibvirtStoragePool.init(owning:)) }
  }

  /// The pool called `name`, or `nil`.
  func storagePool(named name: String) throws -> LibvirtStoragePool? {
    if let pool = virStoragePoolLookupByName(pointer, name) { return LibvirtStoragePool(owning: pool) }
    let failure = Libvirt.lastFailure()
    if failure.isNoStorage { return nil }
    throw failure
  }

  /// The volume whose file is `path`, or `nil`.
  func volume(path: String) throws -> LibvirtVolume? {
    if let volume = virStorageVolLookupByPath(pointer, path) { return LibvirtVolume(owning: volume) }
    let failure = Libvirt.lastFailure()
    if failure.isNoStorage { return nil }
    throw failure
  }

  /// A new stream on this connection (volume transfers, consoles).
  func newStream() throws -> LibvirtStream {
    guard let stream = virStreamNew(pointer, 0) else { throw Libvirt.lastFailure("creating a stream") }
    return LibvirtStream(owning: stream)
  }
}
