import BallastEngine
import BallastHistory
import BallastRuntime
import Foundation
import Testing

/// A folder with a small simulated cluster whose migrations last seconds, for tests that run
/// several `ballast` processes against one history database and one state file.
public struct ProcessWorkspace {
  /// Three hosts on a slow (100 Mbit/s) link; `web` (live-capable, 64 MiB) and `batch` (a local
  /// disk: cold only) run on h1. Each moves in about 10 virtual seconds with ``timings``.
  public static let cluster = """
    version: 1
    name: slow
    datastores:
      - {name: san, shared: true}
      - {name: h1-local, shared: false}
      - {name: h2-local, shared: false}
    hosts:
      - {name: h1, cores: 16, memory: 64GiB, cpuModel: Cascadelake-Server, migrationBandwidth: 100Mbit/s,
         datastores: [san, h1-local]}
      - {name: h2, cores: 16, memory: 64GiB, cpuModel: Cascadelake-Server, migrationBandwidth: 100Mbit/s,
         datastores: [san, h2-local]}
      - {name: h3, cores: 16, memory: 64GiB, cpuModel: Cascadelake-Server, migrationBandwidth: 100Mbit/s,
         datastores: [san]}
    vms:
      - {name: web, host: h1, state: running, vcpus: 1, memory: 64MiB, cpuModel: Skylake-Server,
         disks: [{datastore: san, size: 1GiB}], usage: {cpu: 0.5, memory: 0.5}, dirtyRate: 8MB/s,
         workingSet: 24MiB}
      - {name: batch, host: h1, state: running, vcpus: 1, memory: 64MiB, cpuModel: Skylake-Server,
         disks: [{datastore: h1-local, size: 32MiB}], usage: {cpu: 0.5, memory: 0.5}, dirtyRate: 1MB/s,
         workingSet: 8MiB}
      - {name: spare, host: h3, state: stopped, vcpus: 1, memory: 64MiB, cpuModel: Skylake-Server,
         disks: [{datastore: san, size: 1GiB}], usage: {cpu: 0, memory: 0}}
    """

  /// A downtime limit the slow link can meet: `web`'s stop-and-copy pauses it about 2 s.
  public static let policy = "version: 1\nname: patient\ndowntimeLimit: 3s\n"

  /// Every simulated step takes 2 virtual seconds, stage 0's query included: at `--pace 2`
  /// each stage lasts at least a second, long enough to catch a process in it.
  public static let timings = [
    SimulatedCluster.timingsVariable: """
    {"querySeconds": 2, "reserveSeconds": 2, "commitSeconds": 2, "activateSeconds": 2, "registerSeconds": 2,
     "removeSeconds": 2, "shutdownSeconds": 2, "bootSeconds": 2}
    """
  ]

  public let folder: URL

  public init() throws {
    folder = try BallastProcess.temporaryFolder()
    try Self.cluster.write(to: folder.appendingPathComponent("slow.yaml"), atomically: true, encoding: .utf8)
    try Self.policy.write(to: folder.appendingPathComponent("patient.yaml"), atomically: true, encoding: .utf8)
  }

  public func remove() { try? FileManager.default.removeItem(at: folder) }

  /// `--cluster slow.yaml --policy patient.yaml --state state.json --db h.sqlite`.
  public static let files = [
    "--cluster", "slow.yaml", "--policy", "patient.yaml", "--state", "state.json", "--db", "h.sqlite",
  ]

  public var databasePath: String { folder.appendingPathComponent("h.sqlite").path }

  /// The history database (created when missing).
  public func store() throws -> HistoryStore { try HistoryStore(path: databasePath) }

  /// The simulated hypervisors' state as the last process left it.
  public func state() throws -> SimulatedState {
    try #require(try FileStateStore(path: folder.appendingPathComponent("state.json").path).load())
  }

  /// Runs `ballast arguments…` in the folder with the slow timings, and waits.
  public func run(_ arguments: [String]) async throws -> BallastProcess.Result {
    try await BallastProcess.running(arguments, in: folder, environment: Self.timings)
  }

  /// Starts `ballast arguments…` in the folder with the slow timings.
  public func start(_ arguments: [String]) throws -> BallastProcess.Background {
    try BallastProcess.Background(arguments, in: folder, environment: Self.timings)
  }

  /// The move in flight (started, not ended) and its stage attempts, if there is one.
  public static func inFlight(_ store: HistoryStore) async throws -> MigrationDetail? {
    guard let move = try await store.migrations().first(where: { $0.startedAt != nil && $0.outcome == nil }) else {
      return nil
    }
    return try await store.migration(id: move.id)
  }

  /// Each line of `text` parsed as a JSON object.
  public static func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
      try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
    }
  }
}
