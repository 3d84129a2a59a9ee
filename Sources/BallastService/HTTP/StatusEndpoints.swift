import BallastHistory
import BallastModel
import BallastRuntime
import Foundation
import Hummingbird
import Prometheus

/// The read-only routes of the loop's HTTP endpoint.
///
/// `GET` only, and nothing here can move a VM or change the history: the routes read the
/// telemetry, the Prometheus registry and the history database.
///
/// | route | answers |
/// |---|---|
/// | `/` | the status page (``StatusPage``) |
/// | `/metrics` | Prometheus text format |
/// | `/healthz` | 200 while rounds complete on time, else 503; JSON `{status, reason}` |
/// | `/readyz` | 200 once a round sampled every host (active, healthy), else 503 |
/// | `/api/status` | ``LoopStatus`` |
/// | `/api/history?since=&limit=&vm=&host=` | `{"migrations": […]}`, as `ballast history --json` |
/// | `/api/imbalance?since=` | the imbalance at each round since then, from the host samples |
public struct StatusEndpoints: Sendable {
  public let telemetry: LoopTelemetry
  public let registry: PrometheusCollectorRegistry
  public let store: HistoryStore
  /// This process's lease holder (to tell whether the lease is ours).
  public let holder: LeaseHolder?
  /// The policy in force (it changes on SIGHUP): weights for the imbalance history.
  public let policy: @Sendable () async -> Policy

  public init(
    telemetry: LoopTelemetry, registry: PrometheusCollectorRegistry, store: HistoryStore, holder: LeaseHolder?,
    policy: @escaping @Sendable () async -> Policy
  ) {
    self.telemetry = telemetry
    self.registry = registry
    self.store = store
    self.holder = holder
    self.policy = policy
  }

  /// Most migrations `/api/history` returns at once.
  static let maximumLimit = 1000

  /// Adds every route to `router`.
  public func register(on router: Router<BasicRequestContext>) {
    router.get("/") { _, _ in Self.response(.ok, contentType: "text/html; charset=utf-8", StatusPage.html) }
    router.get("/metrics") { _, _ in try await metrics() }
    router.get("/healthz") { _, _ in try Self.verdict(telemetry.healthVerdict()) }
    router.get("/readyz") { _, _ in try Self.verdict(telemetry.readinessVerdict()) }
    router.get("/api/status") { _, _ in try await status() }
    router.get("/api/history") { request, _ in try await history(Self.query(request)) }
    router.get("/api/imbalance") { request, _ in try await imbalance(Self.query(request)) }
  }

  func metrics() async throws -> Response {
    telemetry.leaseHeld((try? await lease())?.ours ?? false)
    return Self.response(.ok, contentType: "text/plain; version=0.0.4; charset=utf-8", registry.emitToString())
  }

  func status() async throws -> Response {
    do {
      return try Self.json(.ok, telemetry.status(lease: try await lease()))
    } catch {
      return try Self.failure(.internalServerError, "cannot read the cluster's lease from \(store.path): \(error)")
    }
  }

  func history(_ query: [String: String]) async throws -> Response {
    var filter = MigrationFilter(cluster: telemetry.cluster, limit: 50)
    do throws(QueryError) {
      filter.since = try Self.since(query)
      filter.limit = try Self.limit(query) ?? filter.limit
    } catch {
      return try Self.failure(.badRequest, error.message)
    }
    filter.vm = query["vm"]
    filter.host = query["host"]
    do {
      return try Self.json(.ok, ["migrations": try await store.migrations(filter)])
    } catch {
      return try Self.failure(.internalServerError, "\(error)")
    }
  }

  func imbalance(_ query: [String: String]) async throws -> Response {
    // Sample times are on the cluster's clock (virtual for a simulated cluster): count back from its now.
    let now = telemetry.lastRoundClusterTime ?? Date().timeIntervalSince1970
    let since: Double
    do throws(QueryError) {
      since = try Self.since(query, now: now) ?? now - 6 * 3600
    } catch {
      return try Self.failure(.badRequest, error.message)
    }
    let policy = await self.policy()
    do {
      let points = try await store.imbalanceHistory(cluster: telemetry.cluster, since: since, weights: policy.weights)
      return try Self.json(
        .ok, ImbalanceHistory(since: since, now: now, threshold: policy.threshold, points: points))
    } catch {
      return try Self.failure(.internalServerError, "\(error)")
    }
  }

  /// The cluster's lease, when someone holds it and it has not expired.
  func lease() async throws -> LoopStatus.LeaseStatus? {
    guard let lease = try await store.currentLease(cluster: telemetry.cluster),
      lease.expiresAt > Date().timeIntervalSince1970
    else { return nil }
    return LoopStatus.LeaseStatus(
      holder: lease.holder.id, pid: lease.holder.pid, hostname: lease.holder.hostname, acquiredAt: lease.acquiredAt,
      expiresAt: lease.expiresAt, ours: lease.holder.id == holder?.id)
  }

  // MARK: - Query parameters

  /// The request's query parameters, decoded; the first of a repeated name wins.
  static func query(_ request: Request) -> [String: String] {
    Dictionary(
      request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { first, _ in first })
  }

  struct QueryError: Error {
    var message: String
  }

  static func since(
    _ query: [String: String], now: Double = Date().timeIntervalSince1970
  ) throws(QueryError) -> Double? {
    guard let text = query["since"] else { return nil }
    if let seconds = Double(text), seconds.isFinite { return seconds }
    guard let bound = TimeBound(parsing: String(text.prefix(64))) else {
      throw QueryError(message: "since: expected Unix seconds, a duration back from now or a date — \(TimeBound.help)")
    }
    return bound.resolve(now: now)
  }

  static func limit(_ query: [String: String]) throws(QueryError) -> Int? {
    guard let text = query["limit"] else { return nil }
    guard let limit = Int(text), (1...maximumLimit).contains(limit) else {
      throw QueryError(message: "limit: expected a whole number from 1 to \(maximumLimit)")
    }
    return limit
  }

  // MARK: - Responses

  static func verdict(_ verdict: HealthVerdict) throws -> Response {
    try json(verdict.ok ? .ok : .serviceUnavailable, verdict)
  }

  static func failure(_ status: HTTPResponse.Status, _ message: String) throws -> Response {
    try json(status, ["error": message])
  }

  static func json(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    let data = try encoder.encode(value)
    return response(status, contentType: "application/json", String(decoding: data, as: UTF8.self) + "\n")
  }

  static func response(_ status: HTTPResponse.Status, contentType: String, _ text: String) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = contentType
    headers[.cacheControl] = "no-store"
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
  }
}

/// What `/api/imbalance` answers.
struct ImbalanceHistory: Sendable, Codable {
  /// The window's start and end, on the cluster's clock.
  var since: Double
  var now: Double
  var threshold: Double
  var points: [ImbalancePoint]
}
