/// Tunables of the libvirt driver that are not policy.
public struct LibvirtDriverOptions: Sendable, Hashable {
  /// How often a running migration's job statistics are read (seconds).
  public var pollInterval: Double = 0.1
  /// Longest a live transfer may take before it is aborted (seconds).
  public var transferTimeout: Double = 3600
  /// A VM seen for the first time has its CPU measured over this window (seconds) rather than
  /// since it started, so a fresh boot does not look like load.
  public var firstSampleWindow: Double = 0.5
  /// How long a clean shutdown may take before the domain is destroyed, when the engine does
  /// not say (seconds).
  public var shutdownPoll: Double = 0.2
  /// How long `resumeOnSource` waits for an aborted migration job to end (seconds).
  public var abortWait: Double = 30

  public init() {}
}
