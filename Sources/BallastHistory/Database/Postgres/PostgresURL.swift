import Foundation

/// A PostgreSQL database as `--db` or `BALLAST_DB` names it:
/// `postgresql://user@host:port/database?sslmode=verify-full&sslrootcert=/path/ca.crt`.
///
/// The password is never part of it: it comes from `PGPASSWORD` or the password file
/// (`~/.pgpass`, or `PGPASSFILE`), as for `psql` (see ``PostgresPassword``). Without a host
/// the server's UNIX socket in `/var/run/postgresql` is used (or the folder `?host=` names);
/// without a user, `PGUSER`, else the login name; without a database, the user's name.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
  public var user: String
  /// A host name or address; `nil` for a UNIX socket in ``socketDirectory``.
  public var host: String?
  public var port: Int
  public var database: String
  /// The folder of the server's UNIX socket, when ``host`` is `nil`.
  public var socketDirectory: String
  public var sslMode: SSLMode
  /// The certificate authorities to verify the server with (`verify-ca`, `verify-full`);
  /// default `~/.postgresql/root.crt`, else the system's.
  public var sslRootCertificate: String?
  /// Seconds to wait for a connection.
  public var connectTimeout: Double

  /// libpq's `sslmode`, honoured as libpq does.
  public enum SSLMode: String, Sendable, Hashable, CaseIterable {
    /// Never TLS.
    case disable
    /// TLS when the server offers it (postgres-nio asks for it first, as `prefer` does).
    case allow
    /// TLS when the server offers it, without checking its certificate (libpq's default).
    case prefer
    /// TLS or no connection; the certificate is not checked.
    case require
    /// TLS, and the server's certificate must be signed by a trusted authority.
    case verifyCA = "verify-ca"
    /// As `verify-ca`, and the certificate must name the host connected to.
    case verifyFull = "verify-full"
  }

  /// The query parameters a URL may carry.
  public static let parameters = ["sslmode", "sslrootcert", "connect_timeout", "host", "application_name"]

  /// Whether `text` is meant as a PostgreSQL URL rather than a file path.
  public static func looksLikeURL(_ text: String) -> Bool {
    let lower = text.lowercased()
    return lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://")
  }

  /// Parses `text`, taking defaults from `environment` (`PGUSER`, `PGSSLMODE`, `USER`).
  /// - Throws: ``HistoryError`` saying what is wrong with the URL and how to write it.
  public init(_ text: String, environment: [String: String]) throws {
    let shown = Self.redacted(text)
    func problem(_ message: String) -> HistoryError {
      HistoryError(
        path: shown, message,
        hint: "write it as postgresql://USER@HOST:PORT/DATABASE (optionally ?sslmode=disable|allow|prefer|require|"
          + "verify-ca|verify-full&sslrootcert=FILE); the password comes from PGPASSWORD or ~/.pgpass")
    }
    guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
      scheme == "postgresql" || scheme == "postgres"
    else { throw problem("not a PostgreSQL URL") }
    if components.password != nil {
      throw HistoryError(
        path: shown, "the URL holds a password, which the process list and logs would show",
        hint:
          "remove it from the URL and put it in PGPASSWORD or in ~/.pgpass (host:port:database:user:password, mode 0600)"
      )
    }
    var query: [String: String] = [:]
    for item in components.queryItems ?? [] {
      guard Self.parameters.contains(item.name) else {
        throw problem("unknown parameter \(item.name) (known: \(Self.parameters.joined(separator: ", ")))")
      }
      query[item.name] = item.value ?? ""
    }
    let login = environment["PGUSER"] ?? environment["USER"] ?? environment["LOGNAME"]
    guard let user = components.user.flatMap({ $0.isEmpty ? nil : $0 }) ?? login, !user.isEmpty else {
      throw problem("no user name (and neither PGUSER nor USER is set)")
    }
    self.user = user
    let host = components.host.flatMap { $0.isEmpty ? nil : $0 }
    if let socket = query["host"], socket.hasPrefix("/") {
      self.host = nil
      socketDirectory = socket
    } else if let named = query["host"], !named.isEmpty {
      self.host = named
      socketDirectory = "/var/run/postgresql"
    } else {
      self.host = host
      socketDirectory = "/var/run/postgresql"
    }
    if let port = components.port {
      guard (1...65_535).contains(port) else { throw problem("port \(port) is out of range (1-65535)") }
      self.port = port
    } else {
      port = 5432
    }
    let name = String(components.path.drop { $0 == "/" })
    guard !name.contains("/") else { throw problem("the database name \(name) holds a /") }
    database = name.isEmpty ? user : name
    let mode = query["sslmode"] ?? environment["PGSSLMODE"] ?? "prefer"
    guard let sslMode = SSLMode(rawValue: mode) else {
      throw problem(
        "unknown sslmode \(mode) (one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    self.sslMode = sslMode
    sslRootCertificate = query["sslrootcert"].flatMap { $0.isEmpty ? nil : $0 }
    if let timeout = query["connect_timeout"] {
      guard let seconds = Double(timeout), (1...3600).contains(seconds) else {
        throw problem("connect_timeout \(timeout) is not a number of seconds from 1 to 3600")
      }
      connectTimeout = seconds
    } else {
      connectTimeout = 10
    }
  }

  /// The URL without any password: what messages and logs show.
  public var description: String {
    let hostPart = host.map { $0.contains(":") ? "[\($0)]" : $0 } ?? ""
    var text = "postgresql://\(Self.encode(user))@\(hostPart):\(port)/\(Self.encode(database))"
    var parameters: [String] = []
    if host == nil, socketDirectory != "/var/run/postgresql" { parameters.append("host=\(socketDirectory)") }
    if sslMode != .prefer { parameters.append("sslmode=\(sslMode.rawValue)") }
    if !parameters.isEmpty { text += "?" + parameters.joined(separator: "&") }
    return text
  }

  /// The host a password file entry names: the host, or `localhost` for a UNIX socket (as libpq).
  var passwordFileHost: String { host ?? "localhost" }

  private static func encode(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed.subtracting(CharacterSet(charactersIn: ":@/")))
      ?? text
  }

  /// `text` with whatever stands between `://` and `@` after a `:` replaced, for messages
  /// about a URL that could not be parsed.
  static func redacted(_ text: String) -> String {
    guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@"),
      let colon = text[scheme.upperBound..<at].firstIndex(of: ":")
    else { return text }
    return String(text[..<colon]) + ":***" + String(text[at...])
  }
}
