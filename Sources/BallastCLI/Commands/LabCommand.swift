import ArgumentParser
import BallastModel
import BallastRuntime
import Logging

/// `ballast lab up|down|load`: start or stop the lab a cluster file describes (a QEMU lab, or a
/// libvirt lab), or change a lab VM's load.
struct LabCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lab",
    abstract:
      "Start or stop the lab of a cluster file (driver: qemu, or driver: libvirt with labRoot:), or change a VM's load.",
    subcommands: [Up.self, Down.self, Load.self, Bench.self])

  struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Build the test guest, create the hosts (folders, or libvirt daemons) and disks, and start the VMs.",
      discussion: """
        VMs run under TCG (software emulation) so the lab works on any machine; set \
        BALLAST_QEMU_ACCEL=kvm to use KVM where /dev/kvm works. Needs qemu-system-x86_64, \
        qemu-img and gcc with 32-bit support (Debian: qemu-system-x86 qemu-utils gcc-multilib). \
        A libvirt lab (clusters/libvirt-lab.yaml) also needs root and Debian's libvirt-daemon and \
        libvirt-daemon-driver-qemu: it runs one session libvirtd per host, each as its own user \
        (ballast-lab-N) in its own UTS namespace.
        """)

    @OptionGroup var files: ClusterOptions

    @Flag(name: .long, help: "Print {\"cluster\",\"root\",\"state\":\"up\",\"steps\":[…]} as JSON when it is up.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
      let (cluster, _) = try files.load()
      let lab = try LabCommand.lab(cluster, file: files.cluster, logger: logging.logger("ballast.lab"))
      let steps = try await lab.up()
      if json {
        print(try JSONOutput.string(LabJSON(cluster: cluster.name, root: lab.root, state: "up", steps: steps)))
        return
      }
      for line in steps { writeLine(line) }
      writeLine("Lab \(cluster.name) is up under \(lab.root); try `ballast status --cluster \(files.cluster)`.")
    }
  }

  struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Stop every VM of the lab (and a libvirt lab's daemons): only what `lab up` started.")

    @OptionGroup var files: ClusterOptions

    @Flag(name: .long, help: "Also delete the lab's folders (disks, definitions, logs).")
    var removeFiles = false

    @Flag(
      name: .long, help: "Print {\"cluster\",\"root\",\"state\":\"down\",\"removedFiles\"} as JSON when it is down.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
      let (cluster, _) = try files.load()
      let lab = try LabCommand.lab(cluster, file: files.cluster, logger: logging.logger("ballast.lab"))
      try await lab.down(removeFiles: removeFiles)
      if json {
        print(
          try JSONOutput.string(
            LabJSON(cluster: cluster.name, root: lab.root, state: "down", removedFiles: removeFiles)))
        return
      }
      writeLine("Lab \(cluster.name) is down" + (removeFiles ? " and its folders are removed." : "."))
    }
  }

  static func lab(_ cluster: Cluster, file: String, logger: Logger) throws -> Lab {
    try Lab.of(cluster, clusterFile: file, logger: logger)
  }
}

/// What `lab up --json` and `lab down --json` print.
struct LabJSON: Encodable {
  var cluster: String
  /// The lab's folder.
  var root: String
  /// `up` or `down`.
  var state: String
  /// What `lab up` did, one line per VM or host.
  var steps: [String]?
  var removedFiles: Bool?
}
