import ArgumentParser
import BallastModel

/// `ballast activate HOST`: take a host out of maintenance.
struct ActivateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "activate",
    abstract: "Take a host out of maintenance so VMs may be placed on it again.",
    discussion: """
      The cluster file is the simulated cluster's state: the change is written (atomically) only \
      with --save; without it, the command says what it would change.
      """)

  @Argument(help: "The host to activate.")
  var host: String

  @OptionGroup var files: ClusterOptions

  @Flag(name: .long, help: "Write the cluster file with the host active.")
  var save = false

  @Flag(name: .long, help: "Print {\"host\",\"previous\",\"state\",\"saved\"} as JSON.")
  var json = false

  func run() async throws {
    var (cluster, _) = try files.load()
    guard let i = cluster.hosts.firstIndex(where: { $0.name == host }) else {
      let names = cluster.hosts.map(\.name).joined(separator: ", ")
      throw CommandFailure("no host named \(host) in cluster \(cluster.name) (hosts: \(names))")
    }
    let previous = cluster.hosts[i].state
    cluster.hosts[i].state = .active
    let changed = previous != .active
    if changed && save { try ClusterFile.save(cluster, to: files.cluster) }
    if json {
      var line = JSONLine(event: "activate")
      line.add("host", host)
      line.add("previous", previous.rawValue)
      line.add("state", HostState.active.rawValue)
      line.add("saved", changed && save)
      writeLine(line.text)
    } else if !changed {
      writeLine("\(host) is already active; nothing to do.")
    } else if save {
      writeLine("\(host) is active again: VMs may be placed on it. Saved to \(files.cluster).")
    } else {
      writeLine("\(host) would leave maintenance; the cluster file is unchanged (add --save to write it).")
    }
  }
}
