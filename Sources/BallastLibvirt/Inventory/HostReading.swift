import BallastEngine
import BallastModel
import CLibvirt
import Foundation

/// One host as its daemon reports it at one moment: capacity, CPU, pools and every domain with
/// its statistics. Read with one bulk statistics call (`virConnectGetAllDomainStats`) plus the
/// XML of domains not seen before in the same state.
struct HostReading: Sendable {
  var host: String
  var cpus: Int
  var memoryBytes: Int64
  var cpu: HostDescription
  var pools: [PoolDescription]
  var domains: [DomainReading]
  /// Monotonic seconds when the statistics were read.
  var at: Double
}

/// One domain on one host.
struct DomainReading: Sendable {
  var name: String
  /// libvirt's `virDomainState` and its reason.
  var state: UInt32
  var reason: Int32
  var description: DomainDescription
  var stats: [String: TypedValue]
  /// The domain's job, read only when it is paused for a migration (to tell an incoming
  /// destination from a source in stop-and-copy).
  var job: LibvirtJob?

  var isRunning: Bool { DomainStatus(state: state, reason: reason, job: job).isRunning }
  var isPaused: Bool { DomainStatus(state: state, reason: reason, job: job).isPaused }
  var isOff: Bool { DomainStatus(state: state, reason: reason, job: job).isOff }
  var isIncoming: Bool { DomainStatus(state: state, reason: reason, job: job).isIncoming }
  var placement: VMPlacementState { DomainStatus(state: state, reason: reason, job: job).placement }

  func number(_ field: String) -> Double? { stats[field]?.number }

  /// The provisioned size the block statistics report for the disk at `path` (running domains).
  func blockCapacity(path: String?) -> Double? {
    guard let path, let count = number("block.count") else { return nil }
    for n in 0..<Int(min(max(count, 0), 4096)) where stats["block.\(n).path"] == .string(path) {
      return number("block.\(n).capacity")
    }
    return nil
  }
}

extension HostReading {
  /// Reads `host` through `connection` (blocking). `known` holds descriptions read before,
  /// by domain name with the state they were read in; a domain whose state changed is read again.
  static func read(
    host: String, connection: LibvirtConnection, cpu: HostDescription?,
    known: [String: (state: UInt32, description: DomainDescription)]
  ) throws -> HostReading {
    let node = try connection.nodeInfo()
    let hostCPU = try cpu ?? HostDescription(capabilitiesXML: connection.capabilities())
    let pools = try connection.storagePools().filter(\.isActive).map { try PoolDescription(xml: $0.xml()) }
    let stats = try connection.allDomainStats()
    let at = ProcessInfo.processInfo.systemUptime
    var domains: [DomainReading] = []
    for (name, figures) in stats.sorted(by: { $0.key < $1.key }) {
      let state = UInt32(clamping: Int64(figures["state.state"]?.number ?? 0))
      let reason = Int32(clamping: Int64(figures["state.reason"]?.number ?? 0))
      var description = known[name].flatMap { $0.state == state ? $0.description : nil }
      var job: LibvirtJob?
      if description == nil || state == VIR_DOMAIN_PAUSED.rawValue {
        // A domain may vanish between the statistics and this look (it migrated away).
        guard let domain = try connection.domain(named: name) else { continue }
        if description == nil {
          var read = try DomainDescription(xml: domain.xml())
          if state == VIR_DOMAIN_SHUTOFF.rawValue {
            for i in read.disks.indices {
              read.disks[i].capacity = try read.disks[i].path.flatMap {
                try connection.volume(path: $0)?.sizes().capacity
              }
            }
          }
          description = read
        }
        if state == VIR_DOMAIN_PAUSED.rawValue { job = try? domain.jobStats() }
      }
      guard let description else { continue }
      domains.append(
        DomainReading(
          name: name, state: state, reason: reason, description: description, stats: figures, job: job))
    }
    return HostReading(
      host: host, cpus: node.cpus, memoryBytes: node.memoryBytes, cpu: hostCPU, pools: pools, domains: domains, at: at)
  }
}

/// A domain's state, reason and job, in Ballast's placement vocabulary.
struct DomainStatus: Sendable {
  var state: UInt32
  var reason: Int32
  var job: LibvirtJob?

  /// Running as far as load and placement go (running, blocked, or shutting down).
  var isRunning: Bool {
    state == VIR_DOMAIN_RUNNING.rawValue || state == VIR_DOMAIN_BLOCKED.rawValue
      || state == VIR_DOMAIN_SHUTDOWN.rawValue
  }
  var isPaused: Bool { state == VIR_DOMAIN_PAUSED.rawValue || state == VIR_DOMAIN_PMSUSPENDED.rawValue }
  var isOff: Bool { state == VIR_DOMAIN_SHUTOFF.rawValue || state == VIR_DOMAIN_CRASHED.rawValue }

  /// The empty destination of a migration that has not completed: paused with an incoming
  /// migration job (a source paused in stop-and-copy reads the same state, with an outgoing job).
  var isIncoming: Bool {
    if let job, job.isRunning, job.isIncomingMigration { return true }
    return state == VIR_DOMAIN_PAUSED.rawValue && reason == Int32(VIR_DOMAIN_PAUSED_STARTING_UP.rawValue)
  }

  /// Where Ballast's placement vocabulary puts the domain.
  var placement: VMPlacementState {
    if isIncoming { return .incoming }
    if isRunning { return .running }
    if isOff { return .stopped }
    return .paused
  }
}
