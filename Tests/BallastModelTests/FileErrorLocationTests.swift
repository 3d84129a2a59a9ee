import Foundation
import Testing

@testable import BallastModel

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 11, class 3: errors that had no location (line 0), hid each other, or said the wrong
/// thing about the file.
@Suite("File error locations")
struct FileErrorLocationTests {
  @Test func duplicateKeysHaveALineAndNoDocumentAsContext() throws {
    let filler = String(repeating: "# a long comment line to make the document large\n", count: 20_000)
    let text = broken("    cores: 8\n", "    cores: 8\n    cores: 9\n") + filler
    let found = issues(text)
    #expect(found.count == 1)
    let issue = try #require(found.first)
    #expect(issue.line == 8)
    #expect(issue.message.contains("duplicate key 'cores'"))
    #expect(issue.message.count < 200, "the message must not carry the document: \(issue.message.count) characters")
  }

  @Test(arguments: ["\u{0}", "\u{7}", "\u{1B}"])
  func controlCharactersHaveTheirLine(character: String) throws {
    let text = broken("cores: 8", "cores: 8" + character)
    let issue = try #require(issues(text).first)
    #expect(issue.line == 8)
    #expect(issue.column > 1)
    #expect(issue.message.contains("cannot read this character"))
  }

  @Test func invalidUTF8HasTheLineOfTheFirstBadByte() throws {
    var bytes = Array(validCluster.utf8)
    let offset = try #require(validCluster.range(of: "cores: 8")).lowerBound.utf16Offset(in: validCluster)
    bytes.insert(0xFF, at: offset)
    let errors = try #require(throws: FileErrors.self) { try TextFile.decode(bytes, file: "c.yaml") }
    #expect(errors.issues.map(\.line) == [8])
    #expect(errors.issues.first?.column == 5)
    #expect(errors.issues.first?.message.contains("not UTF-8") == true)
  }

  /// A type error in one entry no longer hides the cross-entry errors of the others, and does
  /// not cause follow-on errors (a VM on the broken host is not "on an unknown host").
  @Test func aTypeErrorDoesNotHideTheOtherErrors() {
    let text = broken("memory: 64GiB", "memory: lots")
      .replacingOccurrences(of: "- name: b\n    host: h2", with: "- name: a\n    host: nowhere")
    let found = issues(text)
    #expect(
      found.map(\.keyPath) == ["hosts[0].memory", "vms[1].name", "vms[1].host"],
      "\(found.map(\.description))")
    #expect(found.allSatisfy { $0.line > 0 })
  }

  @Test func entriesAfterABrokenOneKeepTheirKeyPaths() {
    let text = broken("cores: 8", "cores: [8]").replacingOccurrences(
      of: "cpuModel: Cascadelake-Server", with: "cpuModel: Foo")
    let found = issues(text)
    #expect(found.map(\.keyPath) == ["hosts[0].cores", "hosts[1].cpuModel"], "\(found.map(\.description))")
    #expect(found.map(\.line) == [8, 16])
  }

  @Test func infiniteSampleTimesAreRefusedAtLoad() throws {
    let issue = try #require(
      issues(broken("usage: {cpu: 0.5, memory: 0.5}", "samples: [{at: inf, cpu: 0.5}]")).first)
    #expect(issue.line == 26 && issue.keyPath == "vms[0].samples[0].at")
  }

  @Test func aDirectorySaysSo() throws {
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let message = try loadError(folder)
    #expect(message.contains("is a directory"))
  }

  @Test(.timeLimit(.minutes(1))) func aFIFOIsRefusedWithoutHanging() throws {
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let fifo = folder + "/cluster.yaml"
    #expect(mkfifo(fifo, 0o600) == 0)
    let message = try loadError(fifo)
    #expect(message.contains("FIFO"))
  }

  @Test func anUnreadableFileSaysPermissionDenied() throws {
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let file = folder + "/cluster.yaml"
    try validCluster.write(toFile: file, atomically: true, encoding: .utf8)
    chmod(file, 0)
    if geteuid() == 0 {
      // root reads any file: check the words for the error the kernel gives everyone else.
      #expect(TextFile.failure(file, EACCES, action: "open").description.contains("permission denied"))
    } else {
      #expect(try loadError(file).contains("permission denied"))
    }
    #expect(try loadError(folder + "/missing.yaml").contains("no such file"))
  }

  /// A trace that is not a trace file (here: a password file) is refused by position only.
  @Test func aTraceErrorQuotesNoContent() throws {
    let secret = "root:$6$secret-hash:19000:0:99999:7:::"
    let errors = try #require(throws: FileErrors.self) { try LoadTrace.parse("10\n" + secret + "\n", file: "t.txt") }
    #expect(errors.issues.first?.line == 2)
    #expect(!errors.description.contains("secret"))
  }

  private func temporaryFolder() throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-files-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder.path
  }

  private func loadError(_ path: String) throws -> String {
    let errors = try #require(throws: FileErrors.self) { try ClusterFile.load(path: path) }
    return errors.description
  }
}
