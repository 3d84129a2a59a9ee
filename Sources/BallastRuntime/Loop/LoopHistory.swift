import BallastHistory
import BallastModel
import BallastPlanner

/// What the balancing loop remembers between rounds and across restarts: past moves (for
/// cooldowns), host samples (for the hold time), and the cluster lease that keeps a drain
/// and the loop from moving VMs at the same time.
public protocol LoopHistory: Sendable {
  /// The last completed move of each VM of `cluster`.
  func lastMoves(cluster: String) async throws -> [String: MoveHistory.LastMove]
  /// Records one sample per host.
  func record(samples: [HostSample]) async throws
  /// Host samples of `cluster` since `since`, oldest first (to rebuild the hold time).
  func samples(cluster: String, since: Double) async throws -> [HostSample]
  /// Deletes the host samples of `cluster` taken before `before` (the loop's retention).
  func pruneSamples(cluster: String, before: Double) async throws
  /// Runs `body` holding the cluster's migration lease (renewed while it runs).
  /// - Throws: ``LeaseError`` when another process holds it.
  func withLease<T: Sendable>(cluster: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T
  /// Records a completed move (the loop's own, or one made outside Ballast) for cooldowns.
  func noteMove(vm: String, from: String, at: Double) async
}

/// Loop history kept in memory: for `simulate` and runs without a database.
public actor InMemoryLoopHistory: LoopHistory {
  private var moves: [String: MoveHistory.LastMove] = [:]
  private var recorded: [HostSample] = []
  private let keepSamples: Bool

  /// `keepSamples: false` drops samples (a long replay does not need them).
  public init(keepSamples: Bool = true) { self.keepSamples = keepSamples }

  public func lastMoves(cluster: String) -> [String: MoveHistory.LastMove] { moves }

  public func record(samples: [HostSample]) {
    if keepSamples { recorded += samples }
  }

  public func samples(cluster: String, since: Double) -> [HostSample] {
    recorded.filter { $0.cluster == cluster && $0.at >= since }
  }

  public func pruneSamples(cluster: String, before: Double) {
    recorded.removeAll { $0.cluster == cluster && $0.at < before }
  }

  /// One process, no database: nobody else to exclude.
  public func withLease<T: Sendable>(
    cluster: String, _ body: @escaping @Sendable () async throws -> T
  ) async throws
    -> T
  {
    try await body()
  }

  public func noteMove(vm: String, from: String, at: Double) { moves[vm] = MoveHistory.LastMove(at: at, from: from) }
}

/// Loop history in the SQLite store: cooldowns and hold times survive restarts.
public actor SQLiteLoopHistory: LoopHistory {
  let store: HistoryStore
  let holder: LeaseHolder
  private var external: [String: MoveHistory.LastMove] = [:]

  public init(store: HistoryStore, holder: LeaseHolder) {
    self.store = store
    self.holder = holder
  }

  public func lastMoves(cluster: String) async throws -> [String: MoveHistory.LastMove] {
    let stored = try await store.lastMoves(cluster: cluster).mapValues {
      MoveHistory.LastMove(at: $0.at, from: $0.from)
    }
    return stored.merging(external) { a, b in a.at >= b.at ? a : b }
  }

  public func record(samples: [HostSample]) async throws { try await store.recordHostSamples(samples) }

  public func samples(cluster: String, since: Double) async throws -> [HostSample] {
    try await store.hostSamples(cluster: cluster, since: since).sorted { $0.at < $1.at }
  }

  public func pruneSamples(cluster: String, before: Double) async throws {
    try await store.pruneHostSamples(before: before, cluster: cluster)
  }

  public func withLease<T: Sendable>(
    cluster: String, _ body: @escaping @Sendable () async throws -> T
  ) async throws
    -> T
  {
    try await store.withLease(cluster: cluster, holder: holder, duration: 60) { _ in try await body() }
  }

  /// Moves the loop made are in the journal already; moves made outside Ballast are kept here.
  public func noteMove(vm: String, from: String, at: Double) {
    external[vm] = MoveHistory.LastMove(at: at, from: from)
  }
}
