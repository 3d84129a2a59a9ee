import ArgumentParser
import BallastModel
import BallastRuntime

/// `ballast validate`: check a cluster file and optionally a policy file.
struct ValidateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check a cluster file (and a policy file) and report every error with file:line.",
    discussion: """
      Exits 0 when both files are valid, 1 with the full list of errors otherwise. A driver: \
      libvirt file lists no VMs: it is checked offline, then the VMs and hosts its rules name are \
      checked against the daemons' inventory when they answer (--offline skips that). Rules the \
      cluster breaks as it stands (anti-affinity members sharing a host, affinity groups split, \
      VMs on the wrong side of a VM–host rule, hosts over capacity × overcommit, running VMs on a \
      CPU they could not start on again; for libvirt, in the daemons' inventory) are warnings, \
      not errors: real clusters get there, and a balance round repairs them first. They go to \
      standard error (--json: "warnings").
      """)

  @OptionGroup var files: ClusterOptions

  @Flag(name: .long, help: "Print the result as JSON.")
  var json = false

  @Flag(name: .long, help: "Do not contact a libvirt cluster's hosts to check the names its rules use.")
  var offline = false

  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    do {
      let (cluster, policy) = try files.load()
      var note: String?
      // The rules a libvirt cluster breaks are in its inventory (its file lists no VMs).
      var current = cluster
      if cluster.driver == .libvirt, !offline {
        do {
          current = try await DriverFactory.currentCluster(
            cluster, clusterFile: files.cluster, policyFile: files.policy)
        } catch let errors as FileErrors {
          throw errors
        } catch {
          note = "the hosts could not be reached (\(error)); the names rules use were not checked"
        }
      }
      let running = cluster.vms.filter { $0.state.isRunning }.count
      let violations = RuleViolations.find(in: current, policy: policy)
      if json {
        print(
          try JSONOutput.string(
            ValidationReport(valid: true, errors: [], warnings: violations.map(ViolationJSON.init), note: note)))
      } else if let libvirt = cluster.libvirt {
        print(
          "\(files.cluster): valid — cluster \(cluster.name) (libvirt): \(libvirt.hosts.count) hosts, "
            + (offline ? "checked offline" : note == nil ? "rule names found in the inventory" : "checked offline"))
        if let note { print("note: \(note)") }
      } else {
        print(
          "\(files.cluster): valid — cluster \(cluster.name): \(cluster.hosts.count) hosts, "
            + "\(cluster.vms.count) VMs (\(running) running), \(cluster.datastores.count) datastores")
        if let path = files.policy {
          let own = policy.rules.count - cluster.rules.count
          print("\(path): valid — policy \(policy.name), \(own) rules (+\(cluster.rules.count) from the cluster file)")
        }
      }
      if !json {
        for violation in violations {
          let strength = violation.hard ? "hard, a balance round repairs it first" : "soft"
          printError("\(files.cluster): warning: \(violation.sentence) (\(strength))")
        }
      }
    } catch let errors as FileErrors where json {
      print(try JSONOutput.string(ValidationReport(valid: false, errors: errors.issues, warnings: [], note: nil)))
      throw ExitCode.failure
    }
  }
}

/// `validate --json` output: `warnings` are the rules the cluster breaks (a valid file may).
struct ValidationReport: Encodable {
  var valid: Bool
  var errors: [FileIssue]
  /// The rules the cluster breaks as it stands (a valid file may): see ``RuleViolations``.
  var warnings: [ViolationJSON]
  /// What could not be checked (a libvirt cluster whose hosts did not answer).
  var note: String?
}
