import BallastEngine
import BallastModel
import Synchronization
import Testing

/// Small clusters, policies and plans for engine tests (`Fixture` in BallastEngineTests).
public enum EngineFixture {
  public static func host(
    _ name: String, cores: Int = 64, memory: ByteCount = .gib(512), cpuModel: String = "Cascadelake-Server",
    bandwidth: Bandwidth = .gbit(10), datastores: [String] = ["san"], state: HostState = .active
  ) -> Host {
    Host(
      name: name, cores: cores, memory: memory, cpuModel: cpuModel, migrationBandwidth: bandwidth,
      datastores: datastores, state: state)
  }

  public static func vm(
    _ name: String, on host: String, state: PowerState = .running, vcpus: Int = 4, memory: ByteCount = .gib(8),
    cpuModel: String = "Cascadelake-Server", disks: [Disk] = [Disk(datastore: "san", size: .gib(40))],
    dirtyRate: Bandwidth = .mbPerSecond(50), workingSet: ByteCount = .mib(256)
  ) -> VM {
    VM(
      name: name, host: host, state: state, vcpus: vcpus, memory: memory, cpuModel: cpuModel, disks: disks,
      // Every page touched (memory 1.0): round 0 sends the whole allocation, as the hand-computed figures assume.
      usage: Usage(cpu: 0.5, memory: 1.0), dirtyRate: dirtyRate, workingSet: workingSet)
  }

  public static func cluster(hosts: [Host], vms: [VM], datastores: [Datastore]? = nil) -> Cluster {
    let stores = datastores ?? Array(Set(hosts.flatMap(\.datastores))).sorted().map(LocalDatastore.datastore(named:))
    return Cluster(name: "test", datastores: stores, hosts: hosts, vms: vms)
  }

  /// Hosts h0…h(n-1), VMs placed as given.
  public static func cluster(hostCount: Int, vms: [VM], bandwidth: Bandwidth = .gbit(10)) -> Cluster {
    cluster(hosts: (0..<hostCount).map { host("h\($0)", bandwidth: bandwidth) }, vms: vms)
  }

  public static func policy(
    perHost: Int = 2, cluster: Int = 8, downtime: TimeSpan = .milliseconds(300),
    onNoConvergence: NoConvergenceAction = .throttle, onCancel: CancelAction = .finish
  ) -> Policy {
    var policy = Policy()
    policy.concurrency = Concurrency(perHost: perHost, cluster: cluster)
    policy.downtimeLimit = downtime
    policy.convergence.onNoConvergence = onNoConvergence
    policy.onCancel = onCancel
    return policy
  }

  public static func move(
    _ vm: String, from: String, to: String, kind: MigrationKind = .live, requiresShutdown: Bool = false,
    dependsOn: [Int] = []
  ) -> PlannedMove {
    PlannedMove(
      vm: vm, from: from, to: to, kind: kind, reason: "test",
      predicted: PredictedCost(seconds: 0, downtimeMs: 0, bytes: 0, rounds: 0, converges: true),
      requiresShutdown: requiresShutdown, dependsOn: dependsOn)
  }

  public static func plan(_ moves: [PlannedMove], cluster: Cluster, trigger: PlanTrigger = .manual) -> MigrationPlan {
    let view = ClusterView(cluster, weights: MetricWeights())
    return MigrationPlan(
      trigger: trigger, cluster: cluster.name, policy: "test", moves: moves, rejected: [], before: view, after: view)
  }

  /// The pre-copy parameters the engine uses for `vm` under `policy`.
  public static func parameters(_ vm: VM, policy: Policy) -> PreCopyParameters {
    PreCopyParameters(vm: vm, downtimeLimit: policy.downtimeLimit, convergence: policy.convergence)
  }
}

/// Collects engine events in order.
public final class EventRecorder: Sendable {
  private let recorded = Mutex<[EngineEvent]>([])

  public init() {}

  public var observer: EngineObserver { { [self] event in recorded.withLock { $0.append(event) } } }
  public var events: [EngineEvent] { recorded.withLock { $0 } }

  public func events(of vm: String) -> [EngineEvent] { events.filter { $0.vm == vm } }

  /// (stage, outcome) of every stageEnded event of `vm`, in order.
  public func stageEnds(of vm: String) -> [(MigrationStage, StageOutcome)] {
    events(of: vm).compactMap { event in
      guard event.type == .stageEnded, let stage = event.stage, let outcome = event.stageOutcome else { return nil }
      return (stage, outcome)
    }
  }
}

/// A simulated cluster with an engine on it.
public struct Harness {
  public let driver: SimulatedDriver
  public let engine: MigrationEngine
  public let journal: InMemoryJournal
  public let recorder: EventRecorder
  public let store: InMemoryStateStore

  /// `react` sees every event after it is recorded, with the engine (to cancel it, say).
  public init(
    cluster: Cluster, policy: Policy, timings: SimulationTimings = SimulationTimings(),
    faults: [SimulatedFault] = [], options: EngineOptions = EngineOptions(), switchover: SwitchoverStyle = .staged,
    react: (@Sendable (EngineEvent, MigrationEngine) -> Void)? = nil
  ) throws {
    store = InMemoryStateStore()
    driver = try SimulatedDriver(
      cluster: cluster, store: store, timings: timings, faults: faults, switchover: switchover)
    journal = InMemoryJournal()
    let recorder = EventRecorder()
    self.recorder = recorder
    let box = Mutex<MigrationEngine?>(nil)
    engine = MigrationEngine(
      simulated: driver, journal: journal, policy: policy, options: options,
      observer: { event in
        recorder.observer(event)
        if let react, let engine = box.withLock({ $0 }) { react(event, engine) }
      })
    box.withLock { $0 = engine }
  }

  /// The one copy of `original` the hypervisors hold, checking it is whole: running, the
  /// owner, with its data; nothing reserved, no capacity held, no invariant broken.
  public func onlyCopy(of original: VM) async throws -> SimulatedInstance {
    let state = await driver.snapshot()
    #expect(state.violations() == [])
    #expect(state.reservations.isEmpty)
    #expect(engine.heldCapacity.isEmpty)
    let instances = state.instances(of: original.name)
    #expect(instances.count == 1)
    let only = try #require(instances.first)
    #expect(only.owner && only.checksum == SimulatedState.checksum(of: original))
    #expect(only.state == .running)
    return only
  }

  /// Every VM's owner host, checking the simulated state's invariants on the way.
  public func placements() async -> [String: String] {
    let state = await driver.snapshot()
    #expect(state.violations() == [])
    return Dictionary(uniqueKeysWithValues: state.cluster.vms.map { ($0.name, $0.host) })
  }
}
