/// Number and quantity formatting for the sentences in reasons and rejections: the planner's
/// and the engine's stage 0 (``MoveCheck``'s shared checks) word quantities alike.
public enum Wording {
  /// `x` with at most `decimals` decimals and no trailing zeros: `8`, `1.5`, `0.25`.
  public static func number(_ x: Double, decimals: Int = 2) -> String {
    guard x.isFinite else { return x.isNaN ? "?" : x > 0 ? "∞" : "-∞" }
    var scale = 1.0
    for _ in 0..<max(0, decimals) { scale *= 10 }
    let rounded = (x * scale).rounded() / scale
    if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
    var text = String(rounded)
    if text.contains("e") { return text }
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
  }

  /// `n` and `noun`, plural unless `n` is 1: `1 migration`, `3 caps`.
  public static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

  /// `x` with exactly one decimal: `1.0`, `4.5` (for overcommit factors).
  public static func factor(_ x: Double) -> String {
    let tenths = Int64((x * 10).rounded())
    let sign = tenths < 0 ? "-" : ""
    return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
  }

  /// A fraction as a whole percentage: `0.823` → `82%`.
  public static func percent(_ fraction: Double) -> String { "\(number(fraction * 100, decimals: 0))%" }

  /// An imbalance value with three decimals: `0.184`.
  public static func imbalance(_ x: Double) -> String {
    let thousandths = Int64((x * 1000).rounded())
    let whole = thousandths / 1000
    let rest = abs(thousandths % 1000)
    let padded = rest < 10 ? "00\(rest)" : rest < 100 ? "0\(rest)" : "\(rest)"
    return "\(thousandths < 0 && whole == 0 ? "-" : "")\(whole).\(padded)"
  }

  /// Bytes in the largest binary unit: `6.5GiB`.
  public static func bytes(_ x: Double) -> String { ByteCount(clamping: x).description }

  /// A duration an operator reads: `850ms`, `9.2s`, `4m 12s`, `1h 5m`.
  public static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "forever" }
    if seconds < 1 { return "\(number(seconds * 1000, decimals: 0))ms" }
    if seconds < 60 { return "\(number(seconds, decimals: 1))s" }
    let whole = Int64(seconds.rounded())
    if whole < 3600 { return "\(whole / 60)m \(whole % 60)s" }
    return "\(whole / 3600)h \((whole % 3600) / 60)m"
  }

  /// `a, b and c`; the first `limit` items then `and N more`.
  public static func list(_ items: [String], limit: Int = 6) -> String {
    guard items.count > 1 else { return items.first ?? "" }
    if items.count > limit {
      return items.prefix(limit).joined(separator: ", ") + " and \(items.count - limit) more"
    }
    return items.dropLast().joined(separator: ", ") + " and " + (items.last ?? "")
  }
}
