import ArgumentParser
import BallastModel

/// `ballast validate`: check a cluster file and optionally a policy file.
struct ValidateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check a cluster file (and a policy file) and report every error with file:line.",
    discussion: """
      Exits 0 when both files are valid, 1 with the full list of errors otherwise. Rules the \
      cluster breaks as it stands (anti-affinity members sharing a host, affinity groups split, \
      VMs on the wrong side of a VM–host rule, hosts over capacity × overcommit, running VMs on a \
      CPU they could not start on again) are warnings, not errors: real clusters get there, and \
      a balance round repairs them first. They go to standard error (--json: "warnings").
      """)

  @OptionGroup var files: ClusterOptions

  @Flag(name: .long, help: "Print the result as JSON.")
  var json = false

  func run() async throws {
    do {
      let (cluster, policy) = try files.load()
      let running = cluster.vms.filter { $0.state.isRunning }.count
      let violations = RuleViolations.find(in: cluster, policy: policy)
      if json {
        print(
          try JSONOutput.string(
            ValidationReport(valid: true, errors: [], warnings: violations.map(ViolationJSON.init))))
      } else {
        print(
          "\(files.cluster): valid — cluster \(cluster.name): \(cluster.hosts.count) hosts, "
            + "\(cluster.vms.count) VMs (\(running) running), \(cluster.datastores.count) datastores")
        if let path = files.policy {
          let own = policy.rules.count - cluster.rules.count
          print("\(path): valid — policy \(policy.name), \(own) rules (+\(cluster.rules.count) from the cluster file)")
        }
        for violation in violations {
          let strength = violation.hard ? "hard, a balance round repairs it first" : "soft"
          printError("\(files.cluster): warning: \(violation.sentence) (\(strength))")
        }
      }
    } catch let errors as FileErrors where json {
      print(try JSONOutput.string(ValidationReport(valid: false, errors: errors.issues, warnings: [])))
      throw ExitCode.failure
    }
  }
}

/// `validate --json` output: `warnings` are the rules the cluster breaks (a valid file may).
struct ValidationReport: Encodable {
  var valid: Bool
  var errors: [FileIssue]
  var warnings: [ViolationJSON]
}
