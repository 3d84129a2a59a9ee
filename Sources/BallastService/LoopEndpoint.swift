import BallastHistory
import BallastModel
import BallastRuntime
import Logging
import Prometheus
import ServiceLifecycle

/// Everything `balance --loop --listen` adds to the loop: the Prometheus registry, the
/// telemetry that observes rounds and engine events, and the HTTP server reading both.
///
/// Make it before the ``BalanceController`` (whose engine observer passes each event to
/// ``LoopTelemetry/engineEvent(_:)``), then run ``serviceGroup(loop:server:logger:)``.
public struct LoopEndpoint: Sendable {
  public let registry: PrometheusCollectorRegistry
  public let telemetry: LoopTelemetry

  /// The endpoint of a loop on `cluster` whose rounds start `interval` real seconds apart.
  public init(cluster: String, interval: Double, clock: TelemetryClock = .system) {
    let registry = PrometheusCollectorRegistry()
    self.registry = registry
    self.telemetry = LoopTelemetry(
      cluster: cluster, interval: interval,
      factory: DescribedPrometheusFactory(registry: registry, descriptions: LoopMetricNames.descriptions),
      clock: clock)
  }

  /// The HTTP server on `address`, reading `store` (history, lease, host samples).
  public func server(
    address: ListenAddress, store: HistoryStore, holder: LeaseHolder?, policy: @escaping @Sendable () async -> Policy,
    logger: Logger
  ) -> StatusServer {
    StatusServer(
      address: address,
      endpoints: StatusEndpoints(
        telemetry: telemetry, registry: registry, store: store, holder: holder, policy: policy),
      logger: logger)
  }

  /// The loop and, when given, its HTTP server in one group whose graceful shutdown (the
  /// caller triggers it on SIGTERM and SIGINT) stops the loop first (migrations in flight finish
  /// or abort), the server last, so the endpoint answers until the loop is done. The loop starts once the server listens;
  /// a server that cannot listen fails the group before anything moves.
  public static func serviceGroup(loop: BalanceLoopService, server: StatusServer?, logger: Logger) -> ServiceGroup {
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
    if let server {
      services.append(
        .init(
          service: server, successTerminationBehavior: .gracefullyShutdownGroup,
          failureTerminationBehavior: .gracefullyShutdownGroup))
      services.append(
        .init(service: AfterListening(loop, after: server), successTerminationBehavior: .gracefullyShutdownGroup))
    } else {
      services.append(.init(service: loop, successTerminationBehavior: .gracefullyShutdownGroup))
    }
    // No signals of its own: the caller's handler stops the loop (a second SIGTERM aborts its
    // moves), and the loop's end shuts the server down.
    return ServiceGroup(configuration: .init(services: services, logger: logger))
  }
}
