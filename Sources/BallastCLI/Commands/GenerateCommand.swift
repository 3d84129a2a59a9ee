import ArgumentParser
import BallastModel
import Foundation

/// `ballast generate`: write a synthetic, valid cluster file, deterministic for a seed.
struct GenerateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "generate",
    abstract: "Write a synthetic cluster file (mixed hosts, shared and local storage, skewed load).",
    discussion: "The same options and seed always give the same file. Writes to standard output unless --output.")

  @Option(name: .long, help: "Number of hosts.")
  var hosts: Int

  @Option(name: .long, help: "Number of VMs.")
  var vms: Int

  @Option(name: .long, help: "Random seed.")
  var seed: UInt64 = 1

  @Option(name: .long, help: "Fraction of VMs on shared storage, 0…1.")
  var sharedRatio: Double = 0.8

  @Option(name: .long, help: "Comma-separated QEMU CPU models hosts are drawn from.")
  var cpuModels: String = "Broadwell,Skylake-Server,Cascadelake-Server,Icelake-Server"

  @Option(name: .shortAndLong, help: ArgumentHelp("Write the file here instead of standard output.", valueName: "file"))
  var output: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Also write a day of synthetic load per running VM (daily cycle, noise, bursts; CPU percent every 5 minutes) "
        + "into this folder, and point each VM's trace: at its file.", valueName: "dir"))
  var traces: String?

  /// Clusters this command generates: far beyond any real one, small enough to fit in memory.
  static let hostRange = 1...100_000
  static let vmRange = 0...2_000_000

  func validate() throws {
    try FlagValue.check(hosts, flag: "--hosts", in: Self.hostRange)
    try FlagValue.check(vms, flag: "--vms", in: Self.vmRange)
    try FlagValue.check(sharedRatio, flag: "--shared-ratio", in: 0...1, what: "a fraction")
    for model in models where CPUModels.features[model] == nil {
      throw ValidationError(
        "--cpu-models: unknown CPU model '\(model)'; known: \(CPUModels.names.joined(separator: ", "))")
    }
  }

  private var models: [String] {
    cpuModels.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
  }

  func run() async throws {
    let generator = ClusterGenerator(
      hosts: hosts, vms: vms, seed: seed, sharedRatio: sharedRatio, cpuModels: models)
    var cluster = generator.generate()
    if let traces { try writeTraces(for: &cluster, into: traces) }
    if cluster.vms.count < vms {
      printError("note: only \(cluster.vms.count) of \(vms) VMs fit on \(hosts) hosts")
    }
    let text = ClusterWriter.yaml(cluster)
    if let output {
      try AtomicFile.write(text, to: output)
      printError("wrote \(output): \(cluster.hosts.count) hosts, \(cluster.vms.count) VMs")
    } else {
      print(text, terminator: "")
    }
  }

  /// Writes one trace file per running VM into `folder` and sets each VM's `trace:` to it,
  /// relative to the cluster file's folder (or as given when printing to standard output).
  private func writeTraces(for cluster: inout Cluster, into folder: String) throws {
    let folderURL = URL(fileURLWithPath: folder)
    do {
      try FileManager.default.createDirectory(at: folderURL, withIntermediateDirectories: true)
    } catch {
      throw CommandFailure("--traces: cannot create the folder \(folder): \(error.localizedDescription)")
    }
    let base = output.map { URL(fileURLWithPath: $0).deletingLastPathComponent().standardizedFileURL.path }
    let generated = TraceGenerator(seed: seed).traces(for: cluster)
    for i in cluster.vms.indices {
      guard let trace = generated[cluster.vms[i].name] else { continue }
      let file = folderURL.appendingPathComponent(SafeName.fileName(cluster.vms[i].name) + ".txt")
      try AtomicFile.write(TraceGenerator.text(trace), to: file.path)
      cluster.vms[i].trace = Self.relative(file.standardizedFileURL.path, to: base) ?? file.path
    }
    printError("wrote \(generated.count) traces to \(folder)")
  }

  /// `path` relative to folder `base` when it lies inside it.
  static func relative(_ path: String, to base: String?) -> String? {
    guard let base, path.hasPrefix(base + "/") else { return nil }
    return String(path.dropFirst(base.count + 1))
  }
}
