import BallastDriverSupport
import BallastEngine
import BallastLibvirt
import BallastModel
import BallastQEMU
import Logging

/// The lab a cluster file describes: a QEMU lab (`driver: qemu`: hosts are folders, VMs QEMU
/// processes) or a libvirt lab (`driver: libvirt` with `labRoot:`: a libvirt daemon per host).
public enum Lab: Sendable {
  case qemu(QEMULab)
  case libvirt(LibvirtLab)

  /// The lab of `cluster`, read from `clusterFile`.
  /// - Throws: ``RuntimeError`` when the file describes no lab.
  public static func of(_ cluster: Cluster, clusterFile: String, logger: Logger) throws -> Lab {
    switch cluster.driver {
    case .qemu:
      return .qemu(try QEMULabSession.lab(cluster: cluster, clusterFile: clusterFile, logger: logger))
    case .libvirt where cluster.labRoot != nil:
      return .libvirt(try LibvirtSession.lab(cluster: cluster, clusterFile: clusterFile, logger: logger))
    case .libvirt, .simulated:
      throw RuntimeError(
        .badSetting,
        "\(clusterFile) describes no lab; `lab` needs a cluster file with driver: qemu (e.g. clusters/lab.yaml) "
          + "or driver: libvirt with labRoot: (e.g. clusters/libvirt-lab.yaml)")
    }
  }

  /// The lab's root folder.
  public var root: String {
    switch self {
    case .qemu(let lab): lab.layout.root
    case .libvirt(let lab): lab.layout.root
    }
  }

  /// Starts what is missing; a line per VM.
  public func up() async throws -> [String] {
    switch self {
    case .qemu(let lab): try await lab.up().map { "\($0.vm) on \($0.host): \($0.action.rawValue)" }
    case .libvirt(let lab): try await lab.up()
    }
  }

  /// Stops what the lab started; with `removeFiles` deletes its folders.
  public func down(removeFiles: Bool) async throws {
    switch self {
    case .qemu(let lab): try await lab.down(removeFiles: removeFiles)
    case .libvirt(let lab): try await lab.down(removeFiles: removeFiles)
    }
  }

  /// Changes a running VM's guest load; returns what the guest now does, in words.
  public func setLoad(vm: String, duty: Int?, rate: Bandwidth?, workingSet: ByteCount?) async throws -> String {
    switch self {
    case .qemu(let lab):
      let ack = try await lab.setLoad(vm: vm, duty: duty, rate: rate, workingSet: workingSet)
      let rate = ack.dirtyBytesPerSecond.map { "\(Bandwidth(bytesPerSecond: Double($0)))" } ?? "as fast as it can"
      return "\(vm): duty \(ack.dutyPercent) %, dirties \(rate), working set \(ByteCount(ack.workingSetBytes)) "
        + "(change \(ack.commands) since boot)"
    case .libvirt(let lab):
      guard let host = try await lab.host(running: vm) else {
        throw RuntimeError(.notPossible, "VM \(vm) runs on no host of the lab; its guest cannot take a new load")
      }
      let status = try await lab.setLoad(vm: vm, on: host, duty: duty, rate: rate, workingSet: workingSet)
      let page = 4096.0
      return "\(vm) on \(host): duty \(status.dutyPercent) %, dirties "
        + "\(Bandwidth(bytesPerSecond: Double(status.ratePagesPerSecond) * page)), working set "
        + "\(ByteCount(Int64(status.workingSetPages) * 4096)) (change \(status.commands ?? 0) since boot)"
    }
  }
}
