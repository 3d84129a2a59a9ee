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
      checked against the daemons' inventory when they answer (--offline skips that).
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
      if cluster.driver == .libvirt, !offline {
        do {
          _ = try await DriverFactory.currentCluster(cluster, clusterFile: files.cluster, policyFile: files.policy)
        } catch let errors as FileErrors {
          throw errors
        } catch {
          note = "the hosts could not be reached (\(error)); the names rules use were not checked"
        }
      }
      let running = cluster.vms.filter { $0.state.isRunning }.count
      if json {
        print(try JSONOutput.string(ValidationReport(valid: true, errors: [], note: note)))
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
    } catch let errors as FileErrors where json {
      print(try JSONOutput.string(ValidationReport(valid: false, errors: errors.issues, note: nil)))
      throw ExitCode.failure
    }
  }
}

/// `validate --json` output.
struct ValidationReport: Encodable {
  var valid: Bool
  var errors: [FileIssue]
  /// What could not be checked (a libvirt cluster whose hosts did not answer).
  var note: String?
}
