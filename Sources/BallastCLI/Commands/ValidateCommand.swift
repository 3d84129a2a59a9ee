import ArgumentParser
import BallastModel

/// `ballast validate`: check a cluster file and optionally a policy file.
struct ValidateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check a cluster file (and a policy file) and report every error with file:line.",
    discussion: "Exits 0 when both files are valid, 1 with the full list of errors otherwise.")

  @OptionGroup var files: ClusterOptions

  @Flag(name: .long, help: "Print the result as JSON.")
  var json = false

  func run() async throws {
    do {
      let (cluster, policy) = try files.load()
      let running = cluster.vms.filter { $0.state.isRunning }.count
      if json {
        print(try JSONOutput.string(ValidationReport(valid: true, errors: [])))
      } else {
        print(
          "\(files.cluster): valid — cluster \(cluster.name): \(cluster.hosts.count) hosts, "
            + "\(cluster.vms.count) VMs (\(running) running), \(cluster.datastores.count) datastores")
        if let path = files.policy {
          let own = policy.rules.count - cluster.rules.count
          print("\(path): valid — policy \(policy.name), \(own) rules (+\(cluster.rules.count) from the cluster file)")
        }
      }
    } catch let errors as FileErrors where json {
      print(try JSONOutput.string(ValidationReport(valid: false, errors: errors.issues)))
      throw ExitCode.failure
    }
  }
}

/// `validate --json` output.
struct ValidationReport: Encodable {
  var valid: Bool
  var errors: [FileIssue]
}
