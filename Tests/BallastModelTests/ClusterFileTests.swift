import BallastTestSupport
import Foundation
import Testing

@testable import BallastModel

/// The repository root.
let repositoryRoot = Repository.root.path

/// A small valid cluster; tests break one line of it at a time.
let validCluster = """
  version: 1
  name: t
  datastores:
    - {name: san, shared: true}
    - {name: h1-local, shared: false}
  hosts:
    - name: h1
      cores: 8
      memory: 64GiB
      cpuModel: Skylake-Server
      migrationBandwidth: 10Gbit/s
      datastores: [san, h1-local]
    - name: h2
      cores: 8
      memory: 64GiB
      cpuModel: Cascadelake-Server
      migrationBandwidth: 10Gbit/s
      datastores: [san]
  vms:
    - name: a
      host: h1
      vcpus: 2
      memory: 8GiB
      cpuModel: Skylake-Server
      disks: [{datastore: h1-local, size: 20GiB}]
      usage: {cpu: 0.5, memory: 0.5}
    - name: b
      host: h2
      vcpus: 2
      memory: 8GiB
      cpuModel: Skylake-Server
      disks: [{datastore: san, size: 20GiB}]

  """

/// `validCluster` with the first occurrence of `old` replaced by `new`.
func broken(_ old: String, _ new: String) -> String {
  guard let range = validCluster.range(of: old) else { fatalError("test fixture has no '\(old)'") }
  return validCluster.replacingCharacters(in: range, with: new)
}

/// The issues parsing `text` reports (none when it is valid).
func issues(_ text: String, policy: Policy? = nil) -> [FileIssue] {
  do {
    _ = try ClusterFile.parse(text, file: "c.yaml", policy: policy)
    return []
  } catch let errors as FileErrors {
    return errors.issues
  } catch {
    return [FileIssue(file: "?", line: 0, column: 0, keyPath: "", message: "unexpected \(error)")]
  }
}

@Suite("Cluster files")
struct ClusterFileTests {
  @Test func decodesTheValidCluster() throws {
    let cluster = try ClusterFile.parse(validCluster, file: "c.yaml")
    #expect(cluster.hosts.map(\.name) == ["h1", "h2"])
    #expect(cluster.hosts[0].memory == .gib(64))
    #expect(cluster.hosts[0].migrationBandwidth == .gbit(10))
    #expect(cluster.vms[0].disks == [Disk(datastore: "h1-local", size: .gib(20))])
    #expect(cluster.vms[0].usage == Usage(cpu: 0.5, memory: 0.5))
    #expect(cluster.vms[1].state == .running)
    #expect(cluster.vms[1].usage == .idle)
    #expect(cluster.driver == .simulated)
  }

  @Test func decodesTheShippedClusters() throws {
    let demo = try ClusterFile.load(path: "\(repositoryRoot)/clusters/demo.yaml")
    #expect(demo.hosts.count == 5)
    #expect(demo.vms.count >= 25)
    #expect(demo.vms.contains { $0.state == .stopped })
    #expect(demo.vms.contains { vm in vm.disks.contains { $0.datastore.hasSuffix("-local") } })
    #expect(demo.rules.contains { $0.kind == .antiAffinity })
    #expect(demo.vms.first { $0.name == "web-1" }?.samples.map(\.at) == [0, 300, 600])
    let generated = try ClusterFile.load(path: "\(repositoryRoot)/clusters/generated-100x2000.yaml")
    #expect(generated.hosts.count == 100 && generated.vms.count == 2000)
  }

  /// Every class of error, with the line and key path it must point at (a broken line may
  /// cause follow-on errors elsewhere: a misspelled key is also a missing one).
  @Test(
    arguments: [
      (broken("memory: 64GiB", "memory: 64 gigs"), 9, "hosts[0].memory", "expected a size"),
      (broken("cores: 8", "cores: eight"), 8, "hosts[0].cores", "whole number"),
      (broken("migrationBandwidth: 10Gbit/s", "migrationBandwidth: 10Gbit"), 11, "hosts[0].migrationBandwidth", "rate"),
      (
        broken("    cpuModel: Skylake-Server\n    migration", "    cpuModell: Skylake-Server\n    migration"), 10,
        "hosts[0].cpuModell", "did you mean 'cpuModel'"
      ),
      (
        broken("cpuModel: Skylake-Server", "cpuModel: Skylake-Sever"), 10, "hosts[0].cpuModel",
        "did you mean 'Skylake-Server'"
      ),
      (broken("host: h1", "host: h9"), 21, "vms[0].host", "unknown host 'h9'"),
      (broken("datastores: [san]", "datastores: [sam]"), 18, "hosts[1].datastores[0]", "unknown datastore 'sam'"),
      (
        broken("{datastore: san, size: 20GiB}", "{datastore: h1-local, size: 20GiB}"), 32, "vms[1].disks[0].datastore",
        "does not mount"
      ),
      (broken("- name: b", "- name: a"), 27, "vms[1].name", "duplicate VM name 'a'"),
      (broken("- name: h2", "- name: h1"), 13, "hosts[1].name", "duplicate host name"),
      (
        broken(
          "memory: 8GiB\n    cpuModel: Skylake-Server\n    disks: [{datastore: san",
          "memory: 80GiB\n    cpuModel: Skylake-Server\n    disks: [{datastore: san"), 15, "hosts[1].memory",
        "allocated 80GiB but it has 64GiB"
      ),
      (broken("usage: {cpu: 0.5", "usage: {cpu: 1.5"), 26, "vms[0].usage.cpu", "from 0.0 to 1.0"),
      (broken("version: 1", "version: 2"), 1, "version", "reads version 1"),
      (broken("name: t\n", ""), 1, "name", "missing key 'name'"),
      (
        broken(
          "    vcpus: 2\n    memory: 8GiB\n    cpuModel: Skylake-Server\n    disks: [{datastore: san",
          "    vcpus: 2\n    memory: 8GiB\n    cpuModel: Icelake-Server\n    disks: [{datastore: san"), 31,
        "vms[1].cpuModel",
        "lacks"
      ),
    ] as [(String, Int, String, String)])
  func reportsEachErrorClassAtItsLine(text: String, line: Int, keyPath: String, message: String) throws {
    let found = issues(text)
    let issue = try #require(found.first { $0.keyPath == keyPath }, "expected an error at \(keyPath): \(found)")
    #expect(issue.line == line)
    #expect(issue.keyPath == keyPath)
    #expect(issue.message.contains(message), "\(issue.message)")
    #expect(issue.description.hasPrefix("c.yaml:\(line):"))
  }

  @Test func reportsEveryErrorAtOnce() {
    let text = broken("memory: 64GiB", "memory: lots").replacingOccurrences(of: "host: h2", with: "host: nowhere")
      .replacingOccurrences(of: "vcpus: 2", with: "vcpus: 0")
    let found = issues(text)
    #expect(found.map(\.keyPath).sorted() == ["hosts[0].memory", "vms[0].vcpus", "vms[1].vcpus"])
  }

  @Test func syntaxErrorsHaveALine() {
    let found = issues("version: 1\nname: [unclosed\nhosts: []\n")
    #expect(found.count == 1)
    #expect(found.first?.line ?? 0 >= 2)
    #expect(found.first?.message.contains("YAML syntax error") == true)
  }

  @Test func missingFileIsAClearError() {
    #expect(throws: FileErrors.self) { try ClusterFile.load(path: "/nonexistent/cluster.yaml") }
  }

  @Test func memoryOvercommitComesFromThePolicy() {
    var policy = Policy()
    policy.overcommit.memory = 1.5
    let text = broken(
      "memory: 8GiB\n    cpuModel: Skylake-Server\n    disks: [{datastore: san",
      "memory: 80GiB\n    cpuModel: Skylake-Server\n    disks: [{datastore: san")
    #expect(issues(text, policy: policy).isEmpty)
  }

  @Test func sharedLocalDatastoreIsRejected() {
    let found = issues(broken("datastores: [san]", "datastores: [san, h1-local]"))
    #expect(found.map(\.keyPath) == ["hosts[1].datastores[1]"])
    #expect(found.first?.message.contains("shared: true") == true)
  }

  @Test func writerRoundTripsExactly() throws {
    let demo = try ClusterFile.load(path: "\(repositoryRoot)/clusters/demo.yaml")
    let again = try ClusterFile.parse(ClusterWriter.yaml(demo), file: "again.yaml")
    #expect(again == demo)
    let generated = ClusterGenerator(hosts: 7, vms: 60, seed: 9).generate()
    #expect(try ClusterFile.parse(ClusterWriter.yaml(generated), file: "gen.yaml") == generated)
  }

  @Test func savingIsAtomicAndReadable() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("c.yaml").path
    let cluster = try ClusterFile.parse(validCluster, file: "c.yaml")
    try ClusterFile.save(cluster, to: path)
    #expect(try ClusterFile.load(path: path) == cluster)
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["c.yaml"])
  }
}
