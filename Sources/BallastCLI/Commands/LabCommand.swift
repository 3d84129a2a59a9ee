import ArgumentParser
import BallastModel
import BallastQEMU
import BallastRuntime
import Logging

/// `ballast lab up|down`: start or stop the QEMU lab a `driver: qemu` cluster file describes.
struct LabCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lab",
    abstract:
      "Start or stop the QEMU lab of a driver: qemu cluster file (hosts are folders, VMs real QEMU processes), or change a VM's load.",
    subcommands: [Up.self, Down.self, Load.self])

  struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Build the test guest, create the hosts' folders and disks, and start the VMs that should run.",
      discussion: """
        VMs run under TCG (software emulation) so the lab works on any machine; set \
        BALLAST_QEMU_ACCEL=kvm to use KVM where /dev/kvm works. Needs qemu-system-x86_64, \
        qemu-img and gcc with 32-bit support (Debian: qemu-system-x86 qemu-utils gcc-multilib).
        """)

    @OptionGroup var files: ClusterOptions

    func run() async throws {
      let (cluster, _) = try files.load()
      let lab = try LabCommand.lab(cluster, file: files.cluster)
      for report in try await lab.up() {
        writeLine("\(report.vm) on \(report.host): \(report.action.rawValue)")
      }
      writeLine("Lab \(cluster.name) is up under \(lab.layout.root); try `ballast status --cluster \(files.cluster)`.")
    }
  }

  struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop every VM of the lab.")

    @OptionGroup var files: ClusterOptions

    @Flag(name: .long, help: "Also delete the lab's folders (disks, definitions, logs).")
    var removeFiles = false

    func run() async throws {
      let (cluster, _) = try files.load()
      let lab = try LabCommand.lab(cluster, file: files.cluster)
      try await lab.down(removeFiles: removeFiles)
      writeLine("Lab \(cluster.name) is down" + (removeFiles ? " and its folders are removed." : "."))
    }
  }

  static func lab(_ cluster: Cluster, file: String) throws -> QEMULab {
    guard cluster.driver == .qemu else {
      throw CommandFailure(
        "\(file) describes a \(cluster.driver.rawValue) cluster; `lab` needs a cluster file with driver: qemu, e.g. clusters/lab.yaml"
      )
    }
    return try QEMULabSession.lab(
      cluster: cluster, clusterFile: file,
      logger: Logger(label: "ballast.lab", factory: { StreamLogHandler.standardError(label: $0) }))
  }
}
