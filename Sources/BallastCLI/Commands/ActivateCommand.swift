import ArgumentParser
import BallastModel
import BallastRuntime

/// `ballast activate HOST`: take a host out of maintenance.
struct ActivateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "activate",
    abstract: "Take a host out of maintenance so VMs may be placed on it again.",
    discussion: """
      Undoes `ballast drain HOST`'s maintenance: the change is recorded in the history (by whom \
      and why) and in the simulated hypervisors (--state). The cluster file is written \
      (atomically) only with --save; a host the cluster file itself puts in maintenance stays \
      so without --save or --state, and the command says what it would change.
      """)

  @Argument(help: "The host to activate.")
  var host: String

  @OptionGroup var files: ClusterOptions
  @OptionGroup var database: DatabaseOptions

  @Option(name: .long, help: ArgumentHelp("Why, for the history.", valueName: "text"))
  var reason: String?

  @Flag(name: .long, help: "Write the cluster file with the host active.")
  var save = false

  @OptionGroup var simulation: StateOption

  @Flag(name: .long, help: "Print {\"host\",\"previous\",\"state\",\"saved\",\"recorded\"} as JSON.")
  var json = false

  func run() async throws {
    MoveSignals.ignoreHangups()
    let session = try await ClusterSession.open(files: files, database: database, statePath: simulation.state)
    let (host, clusterPath, save) = (self.host, files.cluster, self.save)
    let why = reason ?? "ballast activate \(host)"
    // Without --save or --state, a host the cluster file puts in maintenance stays in maintenance.
    let fileState = session.fileCluster.host(named: host)?.state
    let takesEffect = save || simulation.state != nil || fileState == .active
    let (previous, saved) = try await session.withLease(command: "activate \(host)") {
      let previous = try await session.setMaintenance(false, host: host, reason: why, record: takesEffect)
      guard previous != .active, save else { return (previous, false) }
      return (previous, try session.save(try await session.inventory(), to: clusterPath))
    }
    let changed = previous != .active
    if json {
      var line = JSONLine(event: "activate")
      line.add("host", host)
      line.add("previous", previous.rawValue)
      line.add("state", (takesEffect ? HostState.active : previous).rawValue)
      line.add("saved", saved)
      line.add("recorded", changed && takesEffect)
      writeLine(line.text)
    } else if !changed {
      writeLine("\(host) is already active; nothing to do.")
    } else if !takesEffect {
      writeLine(
        "\(host) would leave maintenance; the cluster file puts it in maintenance and is unchanged "
          + "(add --save to write it).")
    } else {
      writeLine(
        "\(host) is active again: VMs may be placed on it."
          + (saved ? " Saved to \(clusterPath)." : " The cluster file is unchanged (add --save to write it)."))
    }
  }
}
