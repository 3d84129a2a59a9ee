import Testing

@testable import BallastCLI

/// Issue 11, class 1 at the output: figures read back from a history database (which anyone
/// may edit) or computed from the largest accepted values print without trapping.
@Suite("Output formatting of extreme figures")
struct OutputFormattingTests {
  @Test(arguments: [Double.nan, .infinity, -.infinity, 1e300, -1e300, 9.3e18, Double.greatestFiniteMagnitude])
  func extremeFiguresPrint(value: Double) {
    #expect(!HistoryText.bytes(value).isEmpty)
    #expect(!RunReport.bytes(value).isEmpty)
    #expect(!PlanRenderer.percent(value).isEmpty)
    #expect(!PlanRenderer.duration(value).isEmpty)
    #expect(!TextTable.percent(value).isEmpty)
    #expect(!TextTable.bar(value).isEmpty)
    #expect(!JSONLine.number(value, decimals: 2).isEmpty)
  }
}
