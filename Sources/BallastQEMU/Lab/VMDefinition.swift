import BallastDriverSupport
import BallastEngine
import BallastModel
import Foundation

/// What one lab host knows about one VM: everything needed to start its QEMU process, kept
/// as `vm.json` in the VM's directory on that host.
public struct VMDefinition: Sendable, Hashable, Codable {
  /// Why this directory exists on this host.
  public enum Role: String, Sendable, Hashable, Codable {
    /// The VM's home: it runs (or is off) here.
    case active
    /// A reservation: an incoming QEMU waiting for (or receiving) a live migration.
    case incoming
    /// The source of a committed live migration: paused, to be removed at activation.
    case migratedAway
  }

  public var name: String
  public var role: Role
  /// Power state the VM should be in on this host (restored by `QEMULab.up()`).
  public var powerState: PowerState
  public var vcpus: Int
  public var memoryBytes: Int64
  public var cpuModel: String
  public var disks: [DiskImage]
  public var workload: GuestWorkload
  /// MAC address of the VM's NIC (stable across moves, so the announcement matters).
  public var mac: String

  public init(
    name: String, role: Role = .active, powerState: PowerState, vcpus: Int, memoryBytes: Int64, cpuModel: String,
    disks: [DiskImage], workload: GuestWorkload, mac: String
  ) {
    self.name = name
    self.role = role
    self.powerState = powerState
    self.vcpus = vcpus
    self.memoryBytes = memoryBytes
    self.cpuModel = cpuModel
    self.disks = disks
    self.workload = workload
    self.mac = mac
  }

  /// Memory in MiB as QEMU's `-m` takes it (rounded up).
  public var memoryMiB: Int64 { (memoryBytes + 1_048_575) / 1_048_576 }

  /// A stable MAC address for `vm` (locally administered, QEMU's 52:54:00 prefix).
  public static func mac(for vm: String) -> String {
    var hash: UInt32 = 2_166_136_261
    for byte in vm.utf8 {
      hash = (hash ^ UInt32(byte)) &* 16_777_619
    }
    let bytes = [(hash >> 16) & 0xFF, (hash >> 8) & 0xFF, hash & 0xFF]
    return "52:54:00:" + bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
  }

  /// Reads the definition at `path`.
  public static func load(_ path: String) throws -> VMDefinition {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw DriverError("cannot read VM definition \(path)", hint: "check the lab directory is intact")
    }
    do {
      return try JSONDecoder().decode(VMDefinition.self, from: data)
    } catch {
      throw DriverError("VM definition \(path) is not valid: \(error)", hint: "fix or remove the file")
    }
  }

  /// Writes the definition to `path` atomically.
  public func save(to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    do {
      try AtomicFile.write(try encoder.encode(self), to: path)
    } catch {
      throw DriverError(
        vm: name, "cannot write VM definition \(path): \(error)", hint: "check disk space and permissions")
    }
  }
}

/// One disk of a lab VM: a qcow2 image in a datastore.
public struct DiskImage: Sendable, Hashable, Codable {
  /// Datastore holding the image.
  public var datastore: String
  /// File name inside the datastore.
  public var file: String
  /// Virtual size.
  public var sizeBytes: Int64

  public init(datastore: String, file: String, sizeBytes: Int64) {
    self.datastore = datastore
    self.file = file
    self.sizeBytes = sizeBytes
  }
}
