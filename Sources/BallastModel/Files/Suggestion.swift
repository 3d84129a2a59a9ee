/// "Did you mean …?" for misspelled keys, values and names.
public enum Suggestion {
  /// The candidate closest to `word` (case-insensitive edit distance ≤ 2 or a case-only
  /// difference), or `nil`.
  static func closest(to word: String, in candidates: [String]) -> String? {
    guard word.utf8.count <= 64 else { return nil }  // no name is that long: no suggestion, no quadratic work
    let lowered = word.lowercased()
    var best: (String, Int)?
    for candidate in candidates {
      let distance = editDistance(lowered, candidate.lowercased())
      if distance <= 2, distance < (best?.1 ?? .max) { best = (candidate, distance) }
    }
    return best?.0
  }

  /// ` (did you mean 'x'?)` or an empty string.
  static func hint(for word: String, in candidates: [String]) -> String {
    closest(to: word, in: candidates).map { " (did you mean '\($0)'?)" } ?? ""
  }

  /// Levenshtein distance between two strings (insertions, deletions and substitutions of
  /// characters), for every "did you mean" in Ballast.
  public static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = Array(repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
      }
      swap(&previous, &current)
    }
    return previous[b.count]
  }
}
