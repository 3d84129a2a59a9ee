/// A check a VM's move to a destination must pass: the one vocabulary of the planner's filters,
/// its live-eligibility checks, the drain search's refusal counts, plans' rejections, `--explain`
/// and the engine's stage 0 (``name`` is what they all print).
///
/// The checks planning and stage 0 both run have one implementation each, on model values:
/// ``HostStateCheck``, ``CapacityCheck``, ``StorageCheck`` and ``CPUCheck``. A driver adds its
/// own under ``driver(_:)`` (libvirt's CPU comparison).
public enum MoveCheck: Sendable, Hashable, Codable, CustomStringConvertible {
  /// The destination is active and not the VM's own host (``HostStateCheck``).
  case hostState
  /// The policy's VM–host rules of mode `must` / `mustNot`.
  case vmHost
  /// The destination takes part in fewer migrations than the per-host limit.
  case concurrency
  /// The destination's allocation limits under the policy's overcommit (``CapacityCheck``).
  case capacity
  /// Anti-affinity rules: members stay apart.
  case antiAffinity
  /// Affinity rules: members stay together.
  case affinity
  /// Live only: every disk is on shared storage the destination mounts (``StorageCheck``).
  case storage
  /// Live only: the destination CPU offers every feature the VM was started with (``CPUCheck``).
  case cpuCompatibility
  /// Live only: pre-copy is predicted to converge under the policy.
  case convergence
  /// A VM moved recently stays put for the policy's cooldown (balancing only).
  case cooldown
  /// Stage 0: the VM is in the driver's inventory.
  case vm
  /// Stage 0: the VM is where the plan says, and only there.
  case location
  /// Stage 0: the VM's power state allows the move's kind (live needs it running; a cold move of
  /// a running VM needs the plan to shut it down).
  case state
  /// A check a driver adds (``name`` is the driver's): e.g. libvirt comparing the VM's CPU
  /// with the destination's. A name this vocabulary does not know, read back from a record
  /// written by another version, is kept under this case too.
  case driver(String)

  /// The checks that make a running VM ineligible for a live move (the policy's
  /// `liveIneligible` decides what happens then), in the order the kind selection runs them.
  public static let liveEligibility: [MoveCheck] = [.storage, .cpuCompatibility, .convergence]

  /// Every check with a fixed name, for parsing.
  public static let named: [MoveCheck] = [
    .hostState, .vmHost, .concurrency, .capacity, .antiAffinity, .affinity, .storage, .cpuCompatibility,
    .convergence, .cooldown, .vm, .location, .state,
  ]

  /// The check a driver names when it could not answer stage 0 at all (its error follows).
  public static let driverUnavailable = MoveCheck.driver("driver")

  /// The check's name, as plans, explanations, dry runs and the history show it.
  public var name: String {
    switch self {
    case .hostState: "host-state"
    case .vmHost: "vm-host"
    case .concurrency: "concurrency"
    case .capacity: "capacity"
    case .antiAffinity: "anti-affinity"
    case .affinity: "affinity"
    case .storage: "storage"
    case .cpuCompatibility: "cpu-compatibility"
    case .convergence: "convergence"
    case .cooldown: "cooldown"
    case .vm: "vm"
    case .location: "location"
    case .state: "state"
    case .driver(let name): name
    }
  }

  /// The check called `name`; a name not in the vocabulary is a driver's (``driver(_:)``).
  public init(name: String) {
    self = Self.named.first { $0.name == name } ?? .driver(name)
  }

  public var description: String { name }

  /// Encoded as its name.
  public init(from decoder: any Decoder) throws {
    self.init(name: try decoder.singleValueContainer().decode(String.self))
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(name)
  }
}
