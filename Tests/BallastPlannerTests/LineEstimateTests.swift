import BallastModel
import Testing

/// The learned pause line (fixed part + bytes left over the final copy's rate).
@Suite("Learned pause line")
struct LineEstimateTests {
  /// Prior: 5 ms + bytes at 94MB/s (a link measured while the machine was busy). QEMU paused
  /// 30 ms with 4.6MB left, 24 ms less than the line says. The fit puts nearly all of the
  /// difference on the fixed part, which would go below zero; the clamp used to drop it, and
  /// the line stayed where it was. The slope takes it instead: the line passes the point.
  @Test("A pause shorter than the line's copy alone moves the slope, not a clamped intercept")
  func shortPauseMovesTheSlope() {
    var line = LineEstimate(intercept: 0.005, slope: 1 / 94e6)
    let used = line.take(x: 4.6e6, y: 0.030, settings: LearningSettings())
    #expect(used)
    #expect(line.intercept == 0)
    #expect(abs(line.value(at: 4.6e6) - 0.030) < 0.0005)
    #expect(line.value(at: 5.5e6) < 0.04)
  }

  /// A pause longer than the line: the fixed part grows, the slope stays near the prior.
  @Test("A longer pause raises the fixed part")
  func longPauseRaisesTheIntercept() {
    var line = LineEstimate(intercept: 0.005, slope: 1 / 94e6)
    let used = line.take(x: 1e6, y: 0.040, settings: LearningSettings())
    #expect(used)
    #expect(line.intercept > 0.025)
    #expect(abs(line.slope * 94e6 - 1) < 0.1)
  }
}
