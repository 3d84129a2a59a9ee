import BallastModel
import BallastTestSupport
import Foundation
import Testing

@Suite("migrate and activate (end to end)")
struct MigrateCommandTests {
  static let cluster = """
    version: 1
    name: small
    datastores:
      - {name: san, shared: true}
      - {name: h1-local, shared: false}
      - {name: h2-local, shared: false}
    hosts:
      - {name: h1, cores: 32, memory: 256GiB, cpuModel: Cascadelake-Server, migrationBandwidth: 10Gbit/s,
         datastores: [san, h1-local]}
      - {name: h2, cores: 32, memory: 256GiB, cpuModel: Cascadelake-Server, migrationBandwidth: 10Gbit/s,
         datastores: [san, h2-local]}
      - {name: h3, cores: 32, memory: 256GiB, cpuModel: Cascadelake-Server, migrationBandwidth: 10Gbit/s,
         datastores: [san], state: maintenance}
    vms:
      - {name: web, host: h1, state: running, vcpus: 4, memory: 8GiB, cpuModel: Skylake-Server,
         disks: [{datastore: san, size: 40GiB}], usage: {cpu: 0.5, memory: 0.5}, dirtyRate: 30MB/s,
         workingSet: 512MiB}
      - {name: build, host: h1, state: running, vcpus: 4, memory: 16GiB, cpuModel: Skylake-Server,
         disks: [{datastore: h1-local, size: 20GiB}], usage: {cpu: 0.5, memory: 0.5}, dirtyRate: 60MB/s,
         workingSet: 1GiB}
    """

  /// A temporary folder holding `small.yaml`; remove it after.
  static func folder() throws -> (URL, String) {
    let folder = try BallastProcess.temporaryFolder()
    let file = folder.appendingPathComponent("small.yaml").path
    try cluster.write(toFile: file, atomically: true, encoding: .utf8)
    return (folder, file)
  }

  @Test func aLiveMigrationPrintsOneEventPerLineAndASummary() throws {
    let (folder, file) = try Self.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let before = try String(contentsOfFile: file, encoding: .utf8)
    let result = try BallastProcess.run(["migrate", "web", "--to", "h2", "--cluster", file, "--json"])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = try ProcessWorkspace.jsonLines(result.stdout)
    let stages = lines.filter { $0["event"] as? String == "stage" && $0["phase"] as? String == "ended" }
    #expect(
      stages.compactMap { $0["name"] as? String } == [
        "preMigration", "reservation", "preCopy", "stopAndCopy", "commitment", "activation",
      ])
    #expect(stages.compactMap { $0["stage"] as? Int } == [0, 1, 2, 3, 4, 5])
    for line in stages {
      for key in ["vm", "kind", "stage", "name", "at", "outcome"] { #expect(line[key] != nil, "missing \(key)") }
    }
    let round = try #require(lines.first { $0["phase"] as? String == "round" })
    for key in ["round", "bytesSent", "remaining", "bandwidthBytesPerSecond"] {
      #expect(round[key] != nil, "missing \(key)")
    }
    let summary = try #require(lines.last)
    #expect(summary["event"] as? String == "summary")
    #expect(summary["done"] as? Int == 1)
    for key in ["skipped", "failed", "totalDowntimeMs", "maxDowntimeMs", "makespanSeconds", "lowerBoundSeconds"] {
      #expect(summary[key] != nil, "missing \(key)")
    }
    let makespan = try #require(summary["makespanSeconds"] as? Double)
    let bound = try #require(summary["lowerBoundSeconds"] as? Double)
    #expect(makespan >= bound && bound > 0)
    #expect(try String(contentsOfFile: file, encoding: .utf8) == before)  // not rewritten without --save
  }

  @Test func saveRewritesTheClusterFileWithTheNewPlacement() throws {
    let (folder, file) = try Self.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let result = try BallastProcess.run([
      "migrate", "build", "--to", "h2", "--cold", "--cluster", file, "--save", "--json",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = try ProcessWorkspace.jsonLines(result.stdout)
    #expect(
      lines.filter { $0["event"] as? String == "stage" && $0["phase"] as? String == "ended" }
        .compactMap { $0["name"] as? String } == [
          "verifyOff", "reservation", "copy", "register", "commitment", "start",
        ])
    let saved = try ClusterFile.load(path: file)
    let build = try #require(saved.vm(named: "build"))
    #expect(build.host == "h2" && build.state == .running)
    #expect(build.disks.map(\.datastore) == ["h2-local"])
    let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
    #expect(files == ["small.yaml"])  // no temporary file left behind
  }

  @Test func aMoveThatIsNotPossibleSaysWhyAndFails() throws {
    let (folder, file) = try Self.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let live = try BallastProcess.run(["migrate", "build", "--to", "h2", "--live", "--cluster", file])
    #expect(live.status != 0)
    #expect(live.stderr.contains("cannot move live") && live.stderr.contains("h1-local"))
    let maintenance = try BallastProcess.run(["migrate", "web", "--to", "h3", "--cluster", file, "--json"])
    #expect(maintenance.status == 1)
    let lines = try ProcessWorkspace.jsonLines(maintenance.stdout)
    #expect(lines.last?["skipped"] as? Int == 1)
    #expect(lines.contains { ($0["message"] as? String)?.contains("maintenance") == true })
  }

  @Test func aDryRunShowsTheKindCostAndChecksAndMovesNothing() throws {
    let (folder, file) = try Self.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let before = try String(contentsOfFile: file, encoding: .utf8)
    let result = try BallastProcess.run(["migrate", "web", "--to", "h2", "--cluster", file, "--dry-run", "--save"])
    #expect(result.status == 0, "\(result.stderr)")
    let line = try #require(try ProcessWorkspace.jsonLines(result.stdout).first)
    #expect(line["event"] as? String == "dryRun")
    #expect(line["kind"] as? String == "live")
    #expect(line["possible"] as? Bool == true)
    #expect((line["predictedSeconds"] as? Double ?? 0) > 0)
    #expect(try String(contentsOfFile: file, encoding: .utf8) == before)
  }

  @Test func activateTakesAHostOutOfMaintenanceOnlyWithSave() throws {
    let (folder, file) = try Self.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let preview = try BallastProcess.run(["activate", "h3", "--cluster", file])
    #expect(preview.status == 0)
    #expect(preview.stdout.contains("--save"))
    #expect(try ClusterFile.load(path: file).host(named: "h3")?.state == .maintenance)
    let saved = try BallastProcess.run(["activate", "h3", "--cluster", file, "--save", "--json"])
    #expect(saved.status == 0, "\(saved.stderr)")
    #expect(saved.stdout.contains("\"previous\":\"maintenance\""))
    #expect(try ClusterFile.load(path: file).host(named: "h3")?.state == .active)
    let unknown = try BallastProcess.run(["activate", "h9", "--cluster", file])
    #expect(unknown.status != 0 && unknown.stderr.contains("no host named h9"))
  }
}

@Suite("migrate: Ctrl-C (end to end)")
struct MigrateInterruptTests {
  /// Runs `ballast arguments…`, sends SIGINT once stdout contains `trigger`, and waits.
  static func interrupt(_ arguments: [String], when trigger: String) throws -> BallastProcess.Result {
    let process = Process()
    process.executableURL = BallastProcess.executable
    process.arguments = arguments
    process.currentDirectoryURL = try BallastProcess.temporaryFolder()  // its ./ballast.sqlite
    defer { try? process.currentDirectoryURL.map { try FileManager.default.removeItem(at: $0) } }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    var collected = Data()
    while !String(decoding: collected, as: UTF8.self).contains(trigger) {
      let chunk = out.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      collected += chunk
    }
    process.interrupt()
    collected += out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return BallastProcess.Result(
      status: process.terminationStatus, stdout: String(decoding: collected, as: UTF8.self),
      stderr: String(decoding: stderr, as: UTF8.self))
  }

  @Test(arguments: ["abort", "finish"])
  func ctrlCDuringPreCopyEndsCleanlyPerThePolicy(onCancel: String) throws {
    let (folder, file) = try MigrateCommandTests.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let policy = folder.appendingPathComponent("policy.yaml").path
    try "version: 1\nname: stop\nonCancel: \(onCancel)\n".write(toFile: policy, atomically: true, encoding: .utf8)
    let before = try String(contentsOfFile: file, encoding: .utf8)
    // 8 GiB at 10 Gbit/s take about 7 virtual seconds: at 10× they last long enough to interrupt.
    let result = try Self.interrupt(
      ["migrate", "web", "--to", "h2", "--cluster", file, "--policy", policy, "--json", "--pace", "10", "--save"],
      when: "\"name\":\"preCopy\",\"phase\":\"started\"")
    let lines = try ProcessWorkspace.jsonLines(result.stdout)
    let summary = try #require(lines.last)
    #expect(summary["event"] as? String == "summary")
    #expect(summary["cancelled"] as? Bool == true)
    #expect(result.stderr.contains("stopping"))
    let saved = try ClusterFile.load(path: file)
    if onCancel == "abort" {
      #expect(result.status == 1)
      #expect(summary["failed"] as? Int == 1)
      #expect(lines.contains { $0["name"] as? String == "preCopy" && $0["outcome"] as? String == "aborted" })
      #expect(saved.vm(named: "web")?.host == "h1")
      #expect(try String(contentsOfFile: file, encoding: .utf8) == before)
    } else {
      #expect(result.status == 0, "\(result.stderr)")
      #expect(summary["done"] as? Int == 1)
      #expect(saved.vm(named: "web")?.host == "h2")
    }
  }
}
