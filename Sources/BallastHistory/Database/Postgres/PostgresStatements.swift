/// The text of SQL for PostgreSQL's extended query protocol: one statement per query, with
/// numbered placeholders.
enum PostgresStatements {
  /// `sql` with each `?` outside quotes and comments replaced by `$1`, `$2`, … in order.
  static func numberPlaceholders(_ sql: String) -> String {
    var result = ""
    var number = 0
    scan(sql) { character, code in
      if code && character == "?" {
        number += 1
        result += "$\(number)"
      } else {
        result.append(character)
      }
    }
    return result
  }

  /// The statements of a script (a migration), split at semicolons outside quotes, dollar
  /// quotes (function bodies) and comments; empty ones left out.
  static func split(_ script: String) -> [String] {
    var statements: [String] = []
    var current = ""
    scan(script) { character, code in
      if code && character == ";" {
        statements.append(current)
        current = ""
      } else {
        current.append(character)
      }
    }
    statements.append(current)
    return statements.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { statement in
      !statement.split(separator: "\n").allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }
    }
  }

  /// Calls `visit` with each character of `sql` and whether it is code (not inside a quoted
  /// string, a quoted name, a dollar-quoted body or a comment).
  private static func scan(_ sql: String, _ visit: (Character, Bool) -> Void) {
    enum Context: Equatable {
      case code
      case single
      case double
      case lineComment
      case dollar(String)
    }
    var context = Context.code
    let characters = Array(sql)
    var index = 0
    while index < characters.count {
      let character = characters[index]
      switch context {
      case .code:
        if character == "'" {
          context = .single
        } else if character == "\"" {
          context = .double
        } else if character == "-", index + 1 < characters.count, characters[index + 1] == "-" {
          context = .lineComment
        } else if character == "$", let tag = dollarTag(characters, at: index) {
          context = .dollar(tag)
          for tagCharacter in tag { visit(tagCharacter, false) }
          index += tag.count
          continue
        } else {
          visit(character, true)
          index += 1
          continue
        }
        visit(character, false)
      case .single:
        visit(character, false)
        if character == "'" { context = .code }
      case .double:
        visit(character, false)
        if character == "\"" { context = .code }
      case .lineComment:
        visit(character, false)
        if character == "\n" { context = .code }
      case .dollar(let tag):
        if character == "$", String(characters[index..<min(characters.count, index + tag.count)]) == tag {
          for tagCharacter in tag { visit(tagCharacter, false) }
          index += tag.count
          context = .code
          continue
        }
        visit(character, false)
      }
      index += 1
    }
  }

  /// The dollar-quote tag (`$$`, `$body$`) starting at `index`, if one does.
  private static func dollarTag(_ characters: [Character], at index: Int) -> String? {
    var end = index + 1
    while end < characters.count, characters[end].isLetter || characters[end] == "_" { end += 1 }
    guard end < characters.count, characters[end] == "$" else { return nil }
    return String(characters[index...end])
  }
}
