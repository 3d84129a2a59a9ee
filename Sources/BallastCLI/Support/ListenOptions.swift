import ArgumentParser
import BallastService

/// `--listen HOST:PORT`: the loop's HTTP endpoint (metrics, health, status API and page).
struct ListenOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "With --loop: serve /metrics (Prometheus), /healthz, /readyz, /api/status, /api/history and a status "
        + "page at / on this address, e.g. 127.0.0.1:9464 (port 0 picks a free one and logs it). Off unless given; "
        + "read-only.",
      valueName: "host:port"))
  var listen: String?

  func validate() throws {
    do {
      _ = try address
    } catch {
      throw ValidationError(error.description)
    }
  }

  /// The address to listen on, when `--listen` is given.
  var address: ListenAddress? {
    get throws(ListenAddressError) {
      guard let listen else { return nil }
      return try ListenAddress(parsing: listen)
    }
  }
}
