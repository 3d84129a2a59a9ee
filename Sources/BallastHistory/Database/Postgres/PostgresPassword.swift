import Foundation

/// Where a PostgreSQL password comes from, as for `psql`: `PGPASSWORD`, else the first
/// matching line of the password file (`PGPASSFILE`, else `~/.pgpass`), whose lines read
/// `host:port:database:user:password` with `*` matching anything and `\:` / `\\` escaping.
/// A password file readable by others is ignored, as libpq ignores it.
enum PostgresPassword {
  /// The password for `url`, or `nil` when none is configured (the server may not ask).
  static func find(for url: PostgresURL, environment: [String: String]) -> String? {
    if let password = environment["PGPASSWORD"] { return password }
    let file =
      environment["PGPASSFILE"]
      ?? (environment["HOME"] ?? NSHomeDirectory()).appending("/.pgpass")
    guard let text = readPrivateFile(file) else { return nil }
    return lookUp(url, in: text)
  }

  /// The password of the first line of a password file's `text` that matches `url`.
  static func lookUp(_ url: PostgresURL, in text: String) -> String? {
    let wanted = [url.passwordFileHost, String(url.port), url.database, url.user]
    for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
      let fields = split(line)
      guard fields.count == 5 else { continue }
      if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
    }
    return nil
  }

  /// The fields of one line, split at unescaped colons, unescaped.
  static func split(_ line: Substring) -> [String] {
    var fields: [String] = []
    var field = ""
    var escaped = false
    for character in line {
      if escaped {
        field.append(character)
        escaped = false
      } else if character == "\\" {
        escaped = true
      } else if character == ":" && fields.count < 4 {
        fields.append(field)
        field = ""
      } else {
        field.append(character)
      }
    }
    fields.append(field)
    return fields
  }

  /// The file's text when it is a regular file only its owner may read or write.
  private static func readPrivateFile(_ path: String) -> String? {
    var info = stat()
    guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_mode & 0o077 == 0 else { return nil }
    return try? String(contentsOfFile: path, encoding: .utf8)
  }
}
