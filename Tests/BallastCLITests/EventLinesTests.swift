import BallastEngine
import BallastModel
import Foundation
import Testing

@testable import BallastCLI

@Suite("JSON event lines")
struct EventLinesTests {
  @Test func aStageEventIsOneObjectWithEventFirstAndItsFigures() throws {
    let event = EngineEvent(
      type: .progress, move: 3, vm: "web \"1\"", from: "h1", to: "h2", kind: .live, stage: .preCopy, at: 1.23456789,
      time: 1_767_225_601.2,
      figures: StageFigures(round: 2, bytesSent: 1e9, remaining: 5e7, bandwidthBytesPerSecond: 1.25e9, throttle: 0.2))
    let line = JSONLinesOutput.line(for: event)
    #expect(line.hasPrefix("{\"event\":\"stage\",\"vm\":\"web \\\"1\\\"\""))
    #expect(!line.contains("\n"))
    let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    #expect(object["stage"] as? Int == 2)
    #expect(object["name"] as? String == "preCopy")
    #expect(object["phase"] as? String == "round")
    #expect(object["round"] as? Int == 2)
    #expect(object["bytesSent"] as? Int == 1_000_000_000)
    #expect(object["at"] as? Double == 1.234568)
    #expect(object["downtimeMs"] == nil)  // absent figures are left out, not null
  }

  @Test func theSummaryLineHasTheDocumentedKeys() throws {
    let move = PlannedMove(
      vm: "a", from: "h1", to: "h2", kind: .live, reason: "t",
      predicted: PredictedCost(seconds: 1, downtimeMs: 1, bytes: 1, rounds: 1, converges: true))
    let summary = ExecutionSummary(
      results: [
        MoveResult(
          index: 0, move: move, outcome: .completed,
          measured: MeasuredCost(seconds: 7, downtimeMs: 120.5, bytes: 8e9, rounds: 2)),
        MoveResult(index: 1, move: move, outcome: .skipped, reason: "cancelled"),
      ], makespanSeconds: 7.5, lowerBoundSeconds: 7, cancelled: true)
    let line = JSONLinesOutput.line(for: summary)
    #expect(line.hasPrefix("{\"event\":\"summary\""))
    let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    #expect(object["done"] as? Int == 1)
    #expect(object["skipped"] as? Int == 1)
    #expect(object["failed"] as? Int == 0)
    #expect(object["totalDowntimeMs"] as? Double == 120.5)
    #expect(object["maxDowntimeMs"] as? Double == 120.5)
    #expect(object["makespanSeconds"] as? Double == 7.5)
    #expect(object["lowerBoundSeconds"] as? Int == 7)
    #expect(object["cancelled"] as? Bool == true)
  }

  @Test func numbersThatAreNotFiniteBecomeNull() {
    #expect(JSONLine.number(.infinity, decimals: 3) == "null")
    #expect(JSONLine.number(2.5, decimals: 3) == "2.5")
    #expect(JSONLine.quoted("a\u{1}b") == "\"a\\u0001b\"")
  }
}
