import Foundation
import Testing

@testable import BallastModel

/// Issue 11, class 4 (the model's part) and class 9's name limit: names are checked at load,
/// and every driver maps them through `SafeName` before they reach a path or a QEMU option.
@Suite("Safe names")
struct SafeNameTests {
  static let hostile = [
    "../../x", "..", ".", ".hidden", "a/b", "/etc/passwd", "inj,foo=bar", "victim,x", "victim,,x", "50%", "%2F",
    "v m", " leading", "näme", "名前", "a:b # c", "quote\"s", "back\\slash", "emoji 🚀",
  ]

  @Test(arguments: hostile)
  func fileNamesStayOneComponentAndReadBack(name: String) {
    let file = SafeName.fileName(name)
    #expect(!file.contains("/"))
    #expect(!file.hasPrefix("."))
    #expect(file != "" && file != "." && file != "..")
    #expect(SafeName.name(fromFileName: file) == name)
  }

  @Test func fileNamesOfDistinctNamesDiffer() {
    let files = Self.hostile.map(SafeName.fileName)
    #expect(Set(files).count == Self.hostile.count)
    #expect(SafeName.fileName("victim,x") != SafeName.fileName("victim,,x"))
    #expect(SafeName.name(fromFileName: "%2") == nil)
    #expect(SafeName.name(fromFileName: "%2Fa") == "/a")
    #expect(SafeName.name(fromFileName: "a%2fb") == nil, "only the canonical spelling reads back")
    #expect(SafeName.name(fromFileName: ".x") == nil)
  }

  @Test func qemuOptionValuesCannotAddOptions() {
    #expect(SafeName.qemuOptionValue("inj,foo=bar") == "inj,,foo=bar")
    #expect(SafeName.qemuOptionValue("victim,,x") == "victim,,,,x")
    #expect(SafeName.qemuOptionValue("/lab/hosts/a,b/vm") == "/lab/hosts/a,,b/vm")
  }

  @Test func xmlAndURIEscaping() {
    #expect(SafeName.xmlEscaped("<a & 'b' \"c\">") == "&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;")
    #expect(SafeName.uriComponent("a b/c?d#é") == "a%20b%2Fc%3Fd%23%C3%A9")
  }

  @Test func namesAreCheckedAtLoad() {
    let long = String(repeating: "x", count: 256)
    let found = issues(broken("- name: a", "- name: \(long)"))
    #expect(found.map(\.keyPath) == ["vms[0].name"])
    #expect(found.first?.line == 20)
    #expect(found.first?.message.contains("at most 255 bytes") == true)
    #expect((found.first?.message.count ?? 0) < 200)
    #expect(issues(broken("- name: a", "- name: \(String(repeating: "é", count: 127))")).isEmpty)
    let newline = issues(broken("- name: a", "- name: \"a\\nb\""))
    #expect(newline.first?.message.contains("control characters") == true)
    #expect(newline.first?.line == 20)
  }

  @Test func qemuLabsRefuseNamesTheyCannotStoreAndDiskPathsThatLeaveTheirDatastore() {
    let lab = broken("name: t\n", "name: t\ndriver: qemu\nlabRoot: lab\n")
    #expect(issues(lab).isEmpty)
    #expect(issues(lab.replacingOccurrences(of: "- name: a\n", with: "- name: ../../x\n")).isEmpty)
    let slashes = String(repeating: "/", count: 90)
    let tooLong = issues(lab.replacingOccurrences(of: "- name: a\n", with: "- name: \"\(slashes)\"\n"))
    #expect(tooLong.map(\.keyPath) == ["vms[0].name"])
    let escaping = issues(
      lab.replacingOccurrences(
        of: "{datastore: san, size: 20GiB}", with: "{datastore: san, size: 20GiB, path: ../../x.qcow2}"))
    #expect(escaping.map(\.keyPath) == ["vms[1].disks[0].path"])
  }
}

/// Issue 11, class 5: the cluster writer round-trips every name the reader accepts, and files
/// are replaced through exclusive temporary files.
@Suite("Cluster writing")
struct ClusterWritingTests {
  static let names = [
    "v m", "a: b", "#hash", "x # y", " leading", "trailing ", "quote\"d", "single'd", "back\\slash", "näme", "名前",
    "-dash", "true", "null", "123", "1e5", "~", "@at", "`tick`", "{brace}", "[list]", "&anchor", "*alias", "!tag",
    "%percent", "|pipe", ">fold", "comma,name", "?q", "emoji 🚀", "\u{00A0}nbsp", "\u{FEFF}bom", "\u{2028}ls",
  ]

  @Test(arguments: names)
  func everyAcceptedNameRoundTrips(name: String) throws {
    var cluster = try ClusterFile.parse(validCluster, file: "c.yaml")
    cluster.vms[0].name = name
    cluster.vms[0].labels = ["app": name]
    cluster.hosts[1].name = name + "-host"
    cluster.vms[1].host = name + "-host"
    cluster.rules = [PlacementRule(name: name, kind: .antiAffinity, vms: [name, "b"])]
    let problems = SafeName.problem(with: name)
    let text = ClusterWriter.yaml(cluster)
    if problems == nil {
      #expect(try ClusterFile.parse(text, file: "again.yaml") == cluster, "\(text)")
    }
  }

  /// Strings the reader refuses as names (newlines, tabs) are still written exactly: labels'
  /// values, paths.
  @Test(arguments: ["a\nb", "tab\there", "cr\rlf", "nul\u{0}", "esc\u{1B}[31m", "\u{85}nel"])
  func theWriterQuotesControlCharactersExactly(text: String) throws {
    let yaml = "value: \(ClusterWriter.quoted(text))\n"
    #expect(!yaml.dropLast().contains("\n"), "the value must stay on one line: \(yaml)")
    let diagnostics = YAMLDiagnostics(file: "v.yaml")
    let node = try #require(diagnostics.compose(yaml))
    #expect(node.mapping?["value"]?.string == text)
  }

  @Test func twoNamesThatOnceCollidedStayDistinct() throws {
    var cluster = try ClusterFile.parse(validCluster, file: "c.yaml")
    cluster.vms[0].name = "v m"
    cluster.vms[1].name = "v  m"
    #expect(try ClusterFile.parse(ClusterWriter.yaml(cluster), file: "again.yaml") == cluster)
  }

  @Test func savingDoesNotFollowAPlantedSymlink() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-save-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("c.yaml").path
    let victim = folder.appendingPathComponent("victim.txt").path
    try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
    // The old temporary name was predictable: `.c.yaml.<pid>.tmp`.
    try FileManager.default.createSymbolicLink(
      atPath: folder.appendingPathComponent(".c.yaml.\(getpid()).tmp").path, withDestinationPath: victim)
    let cluster = try ClusterFile.parse(validCluster, file: "c.yaml")
    try ClusterFile.save(cluster, to: path)
    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
    #expect(try ClusterFile.load(path: path) == cluster)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tmp") }
    #expect(leftovers == [".c.yaml.\(getpid()).tmp"], "only the planted link, no temporary file of ours")
  }

  @Test func ownerOnlyFilesIgnoreTheUmaskAndReplacingKeepsTheMode() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-mode-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let secret = folder.appendingPathComponent("state.json").path
    try AtomicFile.write("{}", to: secret, permissions: 0o600)
    #expect(try mode(of: secret) == 0o600)
    let shared = folder.appendingPathComponent("c.yaml").path
    try AtomicFile.write("a", to: shared)
    chmod(shared, 0o640)
    try AtomicFile.write("b", to: shared)
    #expect(try mode(of: shared) == 0o640)
    #expect(try String(contentsOfFile: shared, encoding: .utf8) == "b")
  }

  private func mode(of path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? Int) ?? -1
  }
}
