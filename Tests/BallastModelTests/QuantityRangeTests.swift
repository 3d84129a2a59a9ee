import Foundation
import Testing

@testable import BallastModel

/// Issue 11, class 1: values that validation accepted used to trap in sums and formatting.
/// Every quantity now has a range checked at load, with its line, and arithmetic saturates.
@Suite("Quantity ranges")
struct QuantityRangeTests {
  /// Each value out of range is refused at its line, with the allowed range in the message.
  @Test(
    arguments: [
      (broken("vcpus: 2", "vcpus: 9223372036854775807"), 22, "vms[0].vcpus", "from 1 to 4096"),
      (broken("vcpus: 2", "vcpus: 99999999999999999999999"), 22, "vms[0].vcpus", "from 1 to 4096"),
      (broken("memory: 8GiB", "memory: 5000000TiB"), 23, "vms[0].memory", "from 1MiB to 1024TiB"),
      (broken("cores: 8", "cores: 100000000"), 8, "hosts[0].cores", "from 1 to 65536"),
      (
        broken("migrationBandwidth: 10Gbit/s", "migrationBandwidth: " + String(repeating: "9", count: 400) + "Gbit/s"),
        11, "hosts[0].migrationBandwidth", "expected a rate from"
      ),
      (
        broken("migrationBandwidth: 10Gbit/s", "migrationBandwidth: 1000000000000000000000000000000Gbit/s"), 11,
        "hosts[0].migrationBandwidth", "expected a rate from"
      ),
      (
        broken("usage: {cpu: 0.5, memory: 0.5}", "dirtyRate: 1" + String(repeating: "0", count: 30) + "Gbit/s"), 26,
        "vms[0].dirtyRate", "expected a rate from"
      ),
      (
        broken("disks: [{datastore: h1-local, size: 20GiB}]", "disks: [{datastore: h1-local, size: 2000000TiB}]"), 25,
        "vms[0].disks[0].size", "expected a size from"
      ),
      (
        broken("usage: {cpu: 0.5, memory: 0.5}", "samples: [{at: inf, cpu: 0.5}]"), 26, "vms[0].samples[0].at",
        "expected a time from"
      ),
      (
        broken("usage: {cpu: 0.5, memory: 0.5}", "samples: [{at: 1e300, cpu: 0.5}]"), 26, "vms[0].samples[0].at",
        "expected a time from"
      ),
    ] as [(String, Int, String, String)])
  func clusterValuesOutOfRangeAreRefusedAtTheirLine(text: String, line: Int, keyPath: String, message: String) throws {
    let found = issues(text)
    let issue = try #require(found.first { $0.keyPath == keyPath }, "no error at \(keyPath): \(found)")
    #expect(issue.line == line)
    #expect(issue.message.contains(message), "\(issue.message)")
  }

  @Test(
    arguments: [
      ("holdFor: 1000000000000000000000000000000d", "holdFor", "from 0ms to 30d"),
      ("cooldown: 1e400h", "cooldown", "expected a time"),
      ("bandwidthCap: 1000000000000000000000000000000Gbit/s", "bandwidthCap", "expected a rate from"),
      ("maxMovesPerRound: 9223372036854775807", "maxMovesPerRound", "from 1 to 10000"),
      ("concurrency: {perHost: 9223372036854775807}", "concurrency.perHost", "from 1 to 1000"),
      ("monitor: {interval: 1ms}", "monitor.interval", "from 1s to 1d"),
      ("monitor: {interval: " + String(repeating: "9", count: 400) + "s}", "monitor.interval", "from 1s to 1d"),
      ("monitor: {staleAfter: 0s}", "monitor.staleAfter", "from 1s"),
      ("downtimeLimit: 99999999999999h", "downtimeLimit", "from 1ms to 1h"),
      ("convergence: {maxDowntime: 0ms}", "convergence.maxDowntime", "from 1ms to 1h"),
    ])
  func policyValuesOutOfRangeAreRefusedAtTheirLine(text: String, keyPath: String, message: String) throws {
    let errors = try #require(throws: FileErrors.self) {
      try PolicyFile.parse("name: p\n" + text + "\n", file: "p.yaml")
    }
    let issue = try #require(errors.issues.first)
    #expect(issue.keyPath == keyPath)
    #expect(issue.line == 2)
    #expect(issue.message.contains(message), "\(issue.message)")
  }

  /// A policy reloaded by SIGHUP goes through `PolicyFile.load`: the same checks apply to the file.
  @Test func aReloadedPolicyFileIsCheckedTheSameWay() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-range-\(UUID().uuidString).yaml")
      .path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try "name: reloaded\nholdFor: 1000000000000000000000000000000d\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    let errors = try #require(throws: FileErrors.self) { try PolicyFile.load(path: path) }
    #expect(errors.issues.map(\.line) == [2])
    #expect(errors.description.contains("\(path):2:"))
  }

  /// Sums of many VMs at the largest accepted memory saturate instead of trapping, and the
  /// capacity check still reports the host.
  @Test func sumsOfLargeValuesCannotTrap() {
    let host = Host(
      name: "h", cores: 8, memory: Limits.hostMemory.upperBound, cpuModel: "Skylake-Server",
      migrationBandwidth: .gbit(10), datastores: [])
    let vms = (0..<9_000).map {
      VM(
        name: "v\($0)", host: "h", vcpus: Limits.vcpus.upperBound, memory: Limits.vmMemory.upperBound,
        cpuModel: "qemu64")
    }
    let cluster = Cluster(name: "big", datastores: [], hosts: [host], vms: vms)
    let found = ClusterValidator.check(cluster, sourceMap: SourceMap(file: "c.yaml"))
    #expect(found.contains { $0.keyPath == "hosts[0].memory" && $0.message.contains("allocated") })
    #expect(cluster.hostLoads()[0].vcpus == 9_000 * 4_096)
    #expect(ByteCount(.max) + ByteCount(1) == ByteCount(.max))
    #expect(ByteCount(.min) - ByteCount(1) == ByteCount(.min))
    #expect(ByteCount(clamping: .infinity) == ByteCount(.max))
    #expect(ByteCount(clamping: .nan) == .zero)
    #expect(ByteCount(clamping: 1e30) == ByteCount(.max))
  }

  /// Formatting never traps, whatever the value.
  @Test(arguments: [1e30, 9.3e18, -1e30, Double.infinity, -Double.infinity, Double.nan, Double.greatestFiniteMagnitude])
  func formattingHugeValuesCannotTrap(value: Double) {
    #expect(!Bandwidth(bytesPerSecond: value).description.isEmpty)
    #expect(!Bandwidth(bytesPerSecond: value).exactDescription.isEmpty)
    #expect(!TimeSpan(seconds: value).description.isEmpty)
    #expect(!TimeSpan(seconds: value).exactDescription.isEmpty)
    #expect(!ByteCount(clamping: value).description.isEmpty)
    #expect(!ClusterWriter.number(value).isEmpty)
  }

  @Test func unitsRefuseNonFiniteNumbers() {
    let digits = String(repeating: "9", count: 400)
    #expect(Bandwidth(parsing: digits + "Gbit/s") == nil)
    #expect(TimeSpan(parsing: digits + "s") == nil)
    #expect(ByteCount(parsing: digits + "GiB") == nil)
    #expect(TimeSpan(parsing: "1e400s") == nil)
  }

  /// The defaults are inside their own ranges, and the shipped files load.
  @Test func defaultsAreInRange() {
    let policy = Policy()
    #expect(Limits.holdFor.contains(policy.holdFor))
    #expect(Limits.cooldown.contains(policy.cooldown))
    #expect(Limits.interval.contains(policy.monitor.interval))
    #expect(Limits.staleAfter.contains(policy.monitor.staleAfter))
    #expect(Limits.sampleRetention.contains(policy.monitor.sampleRetention))
    #expect(Limits.downtime.contains(policy.downtimeLimit))
    #expect(Limits.movesPerRound.contains(policy.maxMovesPerRound))
    #expect(policy.monitor.sampleRetention >= policy.minimumSampleRetention())
  }
}
