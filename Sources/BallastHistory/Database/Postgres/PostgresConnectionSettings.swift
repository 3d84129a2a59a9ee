import Foundation
import PostgresNIO

/// postgres-nio's connection settings for a ``PostgresURL``, with `sslmode` honoured as libpq
/// does: `disable` never encrypts; `allow` and `prefer` encrypt when the server offers TLS,
/// without checking its certificate; `require` insists on TLS without checking; `verify-ca`
/// checks the certificate against `sslrootcert` (default `~/.postgresql/root.crt`, else the
/// system's authorities); `verify-full` also checks that it names the host.
enum PostgresConnectionSettings {
  /// How long the server lets a session sit idle inside a transaction before ending it.
  static let idleInTransactionMilliseconds = 3000
  /// How long a statement waits for a row lock before failing.
  static let lockTimeoutMilliseconds = 10_000

  static func configuration(for url: PostgresURL, password: String?) throws -> PostgresConnection.Configuration {
    var configuration: PostgresConnection.Configuration
    if let host = url.host {
      configuration = PostgresConnection.Configuration(
        host: host, port: url.port, username: url.user, password: password, database: url.database,
        tls: try tls(for: url))
    } else {
      configuration = PostgresConnection.Configuration(
        unixSocketPath: "\(url.socketDirectory)/.s.PGSQL.\(url.port)", username: url.user, password: password,
        database: url.database)
    }
    configuration.options.connectTimeout = .milliseconds(Int64(url.connectTimeout * 1000))
    configuration.options.additionalStartupParameters = [
      ("application_name", "ballast"),
      // A Ballast process paused or cut off inside a transaction (its transactions last
      // milliseconds) must not hold row locks — the lease's — past its lease: the server ends
      // such a session, and the lease can be taken over.
      ("idle_in_transaction_session_timeout", "\(idleInTransactionMilliseconds)"),
      // A backstop: a lock wait fails (and is retried) rather than waiting for ever.
      ("lock_timeout", "\(lockTimeoutMilliseconds)"),
    ]
    return configuration
  }

  static func tls(for url: PostgresURL) throws -> PostgresConnection.Configuration.TLS {
    var tls = TLSConfiguration.makeClientConfiguration()
    switch url.sslMode {
    case .disable:
      return .disable
    case .allow, .prefer, .require:
      tls.certificateVerification = .none
    case .verifyCA, .verifyFull:
      tls.certificateVerification = url.sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
      let defaultRoot = (ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) + "/.postgresql/root.crt"
      let root = url.sslRootCertificate ?? (FileManager.default.fileExists(atPath: defaultRoot) ? defaultRoot : nil)
      if let root { tls.trustRoots = .file(root) }
    }
    let context: NIOSSLContext
    do {
      context = try NIOSSLContext(configuration: tls)
    } catch {
      throw HistoryError(
        path: url.description, "cannot set up TLS (\(error))",
        hint: "check sslrootcert (\(url.sslRootCertificate ?? "~/.postgresql/root.crt")): a PEM file of CA certificates"
      )
    }
    switch url.sslMode {
    case .allow, .prefer: return .prefer(context)
    default: return .require(context)
    }
  }
}
