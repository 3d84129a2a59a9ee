/// Prometheus' text format read back: one value per series.
struct ExpositionText {
  /// `name{labels}` (labels as printed) → value.
  var samples: [String: Double] = [:]
  /// Family name → help text.
  var help: [String: String] = [:]
  /// Family name → type.
  var types: [String: String] = [:]

  init(_ text: String) {
    for line in text.split(separator: "\n") {
      if line.hasPrefix("# HELP ") {
        let rest = line.dropFirst(7)
        let name = rest.prefix { $0 != " " }
        help[String(name)] = String(rest.dropFirst(name.count + 1))
      } else if line.hasPrefix("# TYPE ") {
        let parts = line.dropFirst(7).split(separator: " ")
        if parts.count == 2 { types[String(parts[0])] = String(parts[1]) }
      } else if !line.hasPrefix("#"), let space = line.lastIndex(of: " "),
        let value = Double(line[line.index(after: space)...])
      {
        samples[String(line[..<space])] = value
      }
    }
  }

  /// The value of `name` with exactly `labels` (in any order).
  func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
    for (series, value) in samples {
      let (seriesName, seriesLabels) = Self.split(series)
      if seriesName == name, seriesLabels == labels { return value }
    }
    return nil
  }

  /// Every series of `name`: its labels and value.
  func series(_ name: String) -> [(labels: [String: String], value: Double)] {
    samples.compactMap { series, value in
      let (seriesName, labels) = Self.split(series)
      return seriesName == name ? (labels, value) : nil
    }
  }

  static func split(_ series: String) -> (String, [String: String]) {
    guard let open = series.firstIndex(of: "{"), series.hasSuffix("}") else { return (series, [:]) }
    var labels: [String: String] = [:]
    for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",") {
      let parts = pair.split(separator: "=", maxSplits: 1)
      if parts.count == 2 { labels[String(parts[0])] = String(parts[1].dropFirst().dropLast()) }
    }
    return (String(series[..<open]), labels)
  }
}
