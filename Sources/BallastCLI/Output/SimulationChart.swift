import BallastModel
import BallastRuntime
import Foundation

/// A self-contained HTML page (inline SVG, no scripts or external files) charting host
/// utilization over time for each policy, with migrations marked.
enum SimulationChart {
  static func html(records: [SimulationRecord], title: String) -> String {
    var page = """
      <!doctype html>
      <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
      <style>
      body{font:14px system-ui,sans-serif;margin:24px;color:#222}
      table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
      th:first-child,td:first-child{text-align:left}.legend span{margin-right:16px}
      </style></head><body>
      <h1>\(escape(title))</h1>

      """
    page += summaryTable(records.map(\.summary))
    page += """
      <p class="legend"><span style="color:#c0392b">━ hottest host</span><span style="color:#e67e22">━ 95th percentile host</span>\
      <span style="color:#2c3e50">━ median host</span><span style="color:#7f8c8d">━ coolest host</span>\
      <span style="color:#8e44ad">┅ imbalance (×100)</span><span style="color:#2980b9">│ live migration</span>\
      <span style="color:#d35400">│ cold migration</span></p>

      """
    for record in records { page += panel(record) }
    return page + "</body></html>\n"
  }

  private static func summaryTable(_ summaries: [SimulationSummary]) -> String {
    var table = "<table><tr><th>policy</th><th>imbalance mean</th><th>p95</th><th>max</th><th>migrations</th>"
    table +=
      "<th>live</th><th>cold</th><th>downtime total</th><th>max</th><th>moved</th><th>host-time over 100% CPU</th></tr>\n"
    for s in summaries {
      table += "<tr><td>\(escape(s.policy))</td><td>\(f3(s.imbalanceMean))</td><td>\(f3(s.imbalanceP95))</td>"
      table += "<td>\(f3(s.imbalanceMax))</td><td>\(s.migrations)</td><td>\(s.live)</td><td>\(s.cold)</td>"
      table += "<td>\(TimeSpan.milliseconds(s.downtimeTotalMs))</td><td>\(TimeSpan.milliseconds(s.downtimeMaxMs))</td>"
      table +=
        "<td>\(ByteCount(clamping: s.bytesMoved))</td><td>\(TimeSpan(seconds: s.overloadHostSeconds))</td></tr>\n"
    }
    return table + "</table>\n"
  }

  private static func panel(_ record: SimulationRecord) -> String {
    let width = 900.0
    let height = 260.0
    let left = 48.0
    let bottom = 24.0
    let top = 10.0
    let plotWidth = width - left - 10
    let plotHeight = height - bottom - top
    let start = record.times.first ?? 0
    let span = max((record.times.last ?? 0) - start, 1)
    let yMax = max(1.0, (record.hostCPU.flatMap { $0 }.max() ?? 1).rounded(.up))
    func x(_ t: Double) -> Double { left + (t - start) / span * plotWidth }
    func y(_ u: Double) -> Double { top + plotHeight - min(u, yMax) / yMax * plotHeight }
    func polyline(_ values: [Double], color: String, dash: String = "") -> String {
      let points = zip(record.times, values).map { "\(r(x($0))),\(r(y($1)))" }.joined(separator: " ")
      let dashed = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
      return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"\(dashed) points=\"\(points)\"/>\n"
    }
    let quantiles = record.hostCPU.map { step -> [Double] in
      let sorted = step.sorted()
      return [
        sorted.last ?? 0, SimulationRecord.percentile(step, 0.95), SimulationRecord.percentile(step, 0.5),
        sorted.first ?? 0,
      ]
    }
    var svg = "<h2>\(escape(record.policy))</h2>\n"
    svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
    svg += "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"host CPU utilization over time\">\n"
    svg +=
      "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n"
    var level = 0.0
    while level <= yMax + 1e-9 {
      svg +=
        "<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(r(y(level)))\" y2=\"\(r(y(level)))\" stroke=\"#e5e5e5\"/>"
      svg +=
        "<text x=\"\(left - 6)\" y=\"\(r(y(level) + 4))\" font-size=\"11\" text-anchor=\"end\">\(Int(level * 100))%</text>\n"
      level += yMax > 2 ? 1 : 0.25
    }
    let hours = span / 3600
    let tickEvery = hours > 12 ? 4.0 : hours > 4 ? 1.0 : 0.25
    var tick = 0.0
    while tick <= hours + 1e-9 {
      let tx = r(x(start + tick * 3600))
      svg += "<text x=\"\(tx)\" y=\"\(Int(height) - 6)\" font-size=\"11\" text-anchor=\"middle\">\(f1(tick))h</text>\n"
      tick += tickEvery
    }
    for mark in record.migrations where mark.completed {
      let color = mark.kind == .live ? "#2980b9" : "#d35400"
      svg += "<line x1=\"\(r(x(mark.at)))\" x2=\"\(r(x(mark.at)))\" y1=\"\(r(y(yMax)))\" y2=\"\(r(y(yMax) + 8))\" "
      svg +=
        "stroke=\"\(color)\"><title>\(escape("\(mark.vm): \(mark.from) → \(mark.to) (\(mark.kind.rawValue))"))</title></line>\n"
    }
    for (i, color) in ["#c0392b", "#e67e22", "#2c3e50", "#7f8c8d"].enumerated() {
      svg += polyline(quantiles.map { $0[i] }, color: color)
    }
    svg += polyline(record.imbalance, color: "#8e44ad", dash: "4 3")
    return svg + "</svg>\n"
  }

  private static func r(_ x: Double) -> String { String(format: "%.1f", x) }
  private static func f1(_ x: Double) -> String { String(format: "%g", (x * 10).rounded() / 10) }
  private static func f3(_ x: Double) -> String { String(format: "%.3f", x) }

  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }
}
