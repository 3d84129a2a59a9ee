import Foundation

/// Time limits and switches of the QEMU driver.
public struct QEMUDriverOptions: Sendable, Hashable {
  /// How often `query-migrate` is polled between QEMU's migration events.
  public var pollInterval: TimeInterval = 0.1
  /// Longest a live transfer may take before it is cancelled (the VM stays on its source).
  public var transferTimeout: TimeInterval = 600
  /// Pause the source just before the final copy (`pause-before-switchover`) so the engine
  /// hears about the stop-and-copy before it happens. The wait adds the engine's reaction
  /// time to the measured downtime.
  public var pauseBeforeSwitchover = true
  /// Longest wait for a destination to report the complete, paused state after a transfer.
  public var settleTimeout: TimeInterval = 15
  /// A VM's CPU is measured between two inventories; the first inventory that sees a QEMU
  /// process measures it over this window instead of over the process's life, which counts
  /// QEMU's start and the guest's boot.
  public var firstSampleWindow: TimeInterval = 0.5
  /// Pauses at chosen steps, for tests that kill a Ballast process there (none by default).
  public var stepDelays = QEMUStepDelays()

  public init() {}

  /// Defaults, with ``QEMUStepDelays/environmentVariable`` applied.
  public static func fromEnvironment(
    _ environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> QEMUDriverOptions {
    var options = QEMUDriverOptions()
    options.stepDelays = try QEMUStepDelays.fromEnvironment(environment)
    return options
  }
}
