import BallastEngine
import BallastModel
import Foundation

extension LibvirtLab {
  /// Defines `count` tiny domains (never started) on `host`, runs `body`, and undefines them
  /// again, also when `body` throws. For measuring inventory and bulk statistics at scale.
  public func withIdleDomains<T: Sendable>(
    _ count: Int, on host: String, _ body: () async throws -> T
  ) async throws -> T {
    guard let uri = layout.uri(host) else { throw DriverError(host: host, "not a host of this lab") }
    let names = (0..<max(count, 0)).map { "ballast-bench-\($0)" }
    try await Libvirt.run("defining \(names.count) idle domains") {
      let connection = try LibvirtConnection.open(uri)
      for name in names where try connection.domain(named: name) == nil {
        _ = try connection.define(
          "<domain type='qemu'><name>\(SafeName.xmlEscaped(name))</name><memory unit='MiB'>16</memory><vcpu>1</vcpu>"
            + "<os><type arch='x86_64'>hvm</type></os></domain>")
      }
    }
    func undefine() async {
      try? await Libvirt.run("undefining the idle domains") {
        let connection = try LibvirtConnection.open(uri)
        for name in names { try? connection.domain(named: name)?.undefine() }
      }
    }
    do {
      let result = try await body()
      await undefine()
      return result
    } catch {
      await undefine()
      throw error
    }
  }

  /// Seconds one bulk statistics call (`virConnectGetAllDomainStats`) takes on `host`, and how
  /// many domains it returned.
  public func timeBulkStatistics(on host: String) async throws -> (seconds: Double, domains: Int) {
    guard let uri = layout.uri(host) else { throw DriverError(host: host, "not a host of this lab") }
    return try await Libvirt.run("timing a bulk statistics call") {
      let connection = try LibvirtConnection.open(uri)
      let start = ProcessInfo.processInfo.systemUptime
      let stats = try connection.allDomainStats()
      return (ProcessInfo.processInfo.systemUptime - start, stats.count)
    }
  }
}
