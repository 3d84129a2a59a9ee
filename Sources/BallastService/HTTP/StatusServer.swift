import Hummingbird
import Logging
import ServiceLifecycle

/// The loop's HTTP endpoint (``StatusEndpoints``) as a `Service`: run it in the same
/// `ServiceGroup` as the ``BalanceLoopService`` so one SIGTERM stops both.
///
/// Hummingbird serves it; a graceful shutdown stops accepting connections and lets requests
/// in progress finish. Put the server before the loop in the group's services: the group stops
/// services in reverse order, so `/healthz` and `/api/status` keep answering while the loop
/// finishes its migrations. ``port()`` waits until it listens (or throws why it cannot).
public struct StatusServer: Service {
  public let address: ListenAddress
  let endpoints: StatusEndpoints
  let logger: Logger
  private let signal = ListeningSignal()

  public init(address: ListenAddress, endpoints: StatusEndpoints, logger: Logger) {
    self.address = address
    self.endpoints = endpoints
    self.logger = logger
  }

  /// The port it listens on, once it does (the one the system picked for port 0).
  /// - Throws: ``StatusServerError`` when it cannot listen.
  public func port() async throws -> Int { try await signal.port() }

  public func run() async throws {
    let router = Router()
    endpoints.register(on: router)
    let signal = self.signal
    let address = self.address
    let logger = self.logger
    let application = Application(
      router: router,
      configuration: ApplicationConfiguration(
        address: .hostname(address.host, port: address.port), serverName: "ballast"),
      onServerRunning: { channel in
        let port = channel.localAddress?.port ?? address.port
        let shown = ListenAddress(host: address.host, port: port)
        logger.notice(
          "listening on http://\(shown)/ — /metrics, /healthz, /readyz, /api/status, /api/history, status page /",
          metadata: ["address": "\(shown)", "port": "\(port)"])
        signal.listening(port: port)
      },
      logger: logger)
    do {
      try await application.run()
    } catch {
      let failure = StatusServerError(address: address, underlying: "\(error)")
      signal.failed(failure)
      throw failure
    }
    signal.failed(StatusServerError(address: address, underlying: "the server stopped before it listened"))
  }
}

/// The HTTP endpoint could not listen (the port is taken, the address is not this machine's…).
public struct StatusServerError: Error, Sendable, CustomStringConvertible {
  public var address: ListenAddress
  public var underlying: String

  public var description: String {
    "cannot serve HTTP on \(address): \(underlying) — choose another --listen address or port (0 picks a free one)"
  }
}

/// Runs `service` once `server` listens: a loop started with `--listen` moves nothing unless
/// its endpoint works.
public struct AfterListening: Service {
  let server: StatusServer
  let service: any Service

  public init(_ service: any Service, after server: StatusServer) {
    self.server = server
    self.service = service
  }

  public func run() async throws {
    _ = try await server.port()
    try await service.run()
  }
}
