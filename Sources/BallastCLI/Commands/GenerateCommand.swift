import ArgumentParser
import BallastModel

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

  func validate() throws {
    guard hosts >= 1 else { throw ValidationError("--hosts must be at least 1, got \(hosts)") }
    guard vms >= 0 else { throw ValidationError("--vms must be 0 or more, got \(vms)") }
    guard (0...1).contains(sharedRatio) else {
      throw ValidationError("--shared-ratio must be between 0 and 1, got \(sharedRatio)")
    }
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
    let cluster = generator.generate()
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
}
