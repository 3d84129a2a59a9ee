/// A plain-text table with aligned columns, and utilization bars.
struct TextTable {
  var header: [String]
  var rows: [[String]] = []
  /// Columns aligned right (numbers).
  var rightAligned: Set<Int> = []

  init(_ header: [String], rightAligned: Set<Int> = []) {
    self.header = header
    self.rightAligned = rightAligned
  }

  mutating func add(_ row: [String]) { rows.append(row) }

  func render() -> String {
    let all = [header] + rows
    let widths = header.indices.map { column in
      all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
    }
    return all.map { row in
      row.enumerated().map { column, cell in
        let padding = String(repeating: " ", count: max(0, widths[column] - cell.count))
        return rightAligned.contains(column) ? padding + cell : cell + padding
      }.joined(separator: "  ").trimmingTrailingSpaces()
    }.joined(separator: "\n")
  }

  /// A bar of `width` cells filled to `fraction` (clamped to 0…1), then the percentage;
  /// values over 100 % end in `!`.
  static func bar(_ fraction: Double, width: Int = 16) -> String {
    let clamped = fraction.isNaN ? 0 : min(max(fraction, 0), 1)
    let filled = Int((clamped * Double(width)).rounded())
    let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
    return bar + " " + percent(fraction) + (fraction > 1 ? "!" : "")
  }

  /// `0.625` → ` 63%`.
  static func percent(_ fraction: Double) -> String {
    let text = PlanRenderer.percent(fraction)
    return String(repeating: " ", count: max(0, 4 - text.count)) + text
  }
}

extension String {
  func trimmingTrailingSpaces() -> String {
    var text = self
    while text.hasSuffix(" ") { text.removeLast() }
    return text
  }
}
