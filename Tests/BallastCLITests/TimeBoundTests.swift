import BallastRuntime
import Testing

@testable import BallastCLI

@Suite("--since")
struct TimeBoundTests {
  @Test(
    "durations count back from now; dates and times are absolute (UTC without a zone)",
    arguments: [
      ("2h", 1_000_000 - 7200.0), ("30m", 1_000_000 - 1800.0), ("7d", 1_000_000 - 604_800.0),
      ("2026-01-31", 1_769_817_600.0), ("2026-01-31T08:00:00Z", 1_769_846_400.0),
      ("2026-01-31T08:00:00+02:00", 1_769_839_200.0), ("2026-01-31T08:00:00", 1_769_846_400.0),
    ])
  func parses(text: String, expected: Double) throws {
    let bound = try #require(TimeBound(argument: text))
    #expect(bound.resolve(now: 1_000_000) == expected)
  }

  @Test("anything else is refused", arguments: ["yesterday", "", "2h ago", "2026-13-01", "-5m"])
  func refuses(text: String) {
    #expect(TimeBound(argument: text) == nil)
  }
}
