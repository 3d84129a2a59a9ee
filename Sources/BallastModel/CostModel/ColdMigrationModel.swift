/// Time and bytes of a cold migration: copy configuration (and disks that move), restart.
public struct ColdMigrationModel: Sendable, Hashable {
  /// Size of a VM's definition and logs.
  public var configurationBytes: ByteCount = .mib(1)
  /// Time a running guest takes to shut down cleanly.
  public var shutdownSeconds: Double = 20
  /// Time a guest takes to start on the destination.
  public var bootSeconds: Double = 15

  public init() {}

  /// Prediction for moving `vm` whose `disksToCopy` must be copied, at `bandwidth`.
  /// A running VM is shut down first and started again: its whole move is downtime.
  public func predict(vm: VM, disksToCopy: [Disk], bandwidth: Bandwidth) -> ColdPrediction {
    let bytes = disksToCopy.reduce(configurationBytes.double) { $0 + $1.size.double }
    let copySeconds = bytes / max(bandwidth.bytesPerSecond, 1)
    let running = vm.state.isRunning
    let total = copySeconds + (running ? shutdownSeconds + bootSeconds : 0)
    return ColdPrediction(totalSeconds: total, downtimeSeconds: running ? total : 0, bytes: bytes)
  }
}

/// What the cold model predicts for one cold migration.
public struct ColdPrediction: Sendable, Hashable, Codable {
  public var totalSeconds: Double
  /// Outage of a VM that was running (0 for one that was off).
  public var downtimeSeconds: Double
  public var bytes: Double
}
