import ArgumentParser
import BallastModel
import BallastRuntime
import Foundation

/// `ballast discover`: a libvirt cluster as it is now, written as a simulated cluster file.
struct DiscoverCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "discover",
    abstract: "Read a libvirt cluster's hosts, VMs, disks and load, and write them as a simulated cluster file.",
    discussion: """
      The snapshot is a driver: simulated cluster file (hosts, datastores, VMs with their usage \
      now), so a real cluster can be planned, explained and simulated offline: \
      `ballast plan --cluster snapshot.yaml`. Give a driver: libvirt cluster file (--cluster), or \
      the hosts' libvirt URIs (--uri, once per host; hosts are named as their daemons name them).
      """)

  @Option(name: .long, help: ArgumentHelp("A driver: libvirt cluster file.", valueName: "file"))
  var cluster: String?

  @Option(name: .long, help: ArgumentHelp("A host's libvirt URI, e.g. qemu+ssh://root@kvm-1/system.", valueName: "uri"))
  var uri: [String] = []

  @Option(name: .long, help: ArgumentHelp("The cluster's name with --uri.", valueName: "name"))
  var name = "discovered"

  @Option(name: .shortAndLong, help: ArgumentHelp("Write the snapshot here instead of printing it.", valueName: "file"))
  var output: String?

  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    if (cluster == nil) == uri.isEmpty {
      throw ValidationError("give either --cluster FILE or --uri URI (once per host)")
    }
  }

  func run() async throws {
    let source: Cluster
    let file: String
    if let cluster {
      source = try ClusterFiles(cluster: cluster).load().cluster
      file = cluster
      guard source.driver == .libvirt else {
        throw CommandFailure(
          "\(cluster) describes a \(source.driver.rawValue) cluster; discover reads driver: libvirt ones")
      }
    } else {
      source = try await LibvirtSession.cluster(named: name, uris: uri)
      file = FileManager.default.currentDirectoryPath + "/discover.yaml"
    }
    let found = try await LibvirtSession.discover(cluster: source, clusterFile: file)
    let snapshot = found.snapshot
    let yaml = "# Discovered from libvirt by `ballast discover` at \(Date()).\n" + ClusterWriter.yaml(snapshot)
    if let output {
      try AtomicFile.write(yaml, to: output)
    } else {
      print(yaml, terminator: "")
    }
    let running = snapshot.vms.filter { $0.state.isRunning }.count
    printError(
      "Discovered \(snapshot.hosts.count) hosts, \(snapshot.vms.count) VMs (\(running) running), "
        + "\(snapshot.datastores.count) datastores in \(String(format: "%.2f", found.seconds)) s"
        + (output.map { "; wrote \($0)" } ?? ""))
    for issue in found.issues { printError("warning: \(issue.message)") }
  }
}
