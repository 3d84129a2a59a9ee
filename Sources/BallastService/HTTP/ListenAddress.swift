/// Where the HTTP endpoint listens: `--listen 127.0.0.1:9464`, `[::1]:9464`, `localhost:0`.
///
/// Port 0 lets the system pick a free port (the server logs the one it got). The host is an
/// IP address or a name without spaces, slashes or other characters a URL would not take.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
  public var host: String
  public var port: Int

  public init(host: String, port: Int) {
    self.host = host
    self.port = port
  }

  /// The address `text` says.
  /// - Throws: ``ListenAddressError`` saying what is wrong and what is expected.
  public init(parsing text: String) throws(ListenAddressError) {
    let host: Substring
    let port: Substring
    if text.hasPrefix("[") {
      guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
        throw ListenAddressError(text, "an IPv6 address goes in brackets before the port, as [::1]:9464")
      }
      host = text[text.index(after: text.startIndex)..<close]
      port = text[text.index(close, offsetBy: 2)...]
    } else {
      guard let colon = text.lastIndex(of: ":") else {
        throw ListenAddressError(text, "expected HOST:PORT, e.g. 127.0.0.1:9464 (port 0 picks a free one)")
      }
      host = text[..<colon]
      port = text[text.index(after: colon)...]
      if host.contains(":") {
        throw ListenAddressError(text, "an IPv6 address goes in brackets before the port, as [::1]:9464")
      }
    }
    guard !host.isEmpty else {
      throw ListenAddressError(
        text, "the host is missing: 127.0.0.1 for this machine only, 0.0.0.0 for every interface")
    }
    let allowed = host.unicodeScalars.allSatisfy { scalar in
      scalar.isASCII
        && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || ".-:%_".unicodeScalars.contains(scalar))
    }
    guard allowed, host.count <= 253 else {
      throw ListenAddressError(text, "the host must be an IP address or a host name")
    }
    guard port.count <= 5, let number = Int(port), (0...65535).contains(number) else {
      throw ListenAddressError(text, "the port must be a number from 0 to 65535 (0 picks a free one)")
    }
    self.host = String(host)
    self.port = number
  }

  /// `host:port`, the IPv6 host in brackets.
  public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A `--listen` value that is not an address to listen on.
public struct ListenAddressError: Error, Sendable, Hashable, CustomStringConvertible {
  public var text: String
  public var problem: String

  init(_ text: String, _ problem: String) {
    self.text = text
    self.problem = problem
  }

  public var description: String { "--listen '\(text)': \(problem)" }
}
