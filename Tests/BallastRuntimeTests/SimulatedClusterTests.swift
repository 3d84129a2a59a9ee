import BallastEngine
import BallastModel
import BallastTestSupport
import Foundation
import Testing

@testable import BallastRuntime

@Suite("simulated clusters: timings and resuming")
struct SimulatedClusterTests {
  static let variable = SimulatedCluster.timingsVariable

  @Test func timingsComeFromTheEnvironmentAndBadOnesAreExplained() throws {
    #expect(try SimulatedCluster.timings([:]) == SimulationTimings())
    let set = try SimulatedCluster.timings([Self.variable: #"{"querySeconds": 2, "commitSeconds": 0.5}"#])
    #expect(set.querySeconds == 2 && set.commitSeconds == 0.5)
    #expect(set.reserveSeconds == SimulationTimings().reserveSeconds)
    for (text, says) in [
      (#"{"querySecond": 2}"#, "unknown timing 'querySecond'"), (#"{"bootSeconds": -1}"#, "at least 0"),
      (#"{"bootSeconds": "1s"}"#, "must be a number"), ("2", "expected a JSON object"),
    ] {
      #expect {
        _ = try SimulatedCluster.timings([Self.variable: text])
      } throws: { error in
        "\(error)".contains(Self.variable) && "\(error)".contains(says)
      }
    }
  }

  @Test func aResumedClusterNeverStartsBeforeTheLastProcessLeftIt() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("state.json").path
    let cluster = Cluster(name: "c", datastores: [], hosts: [], vms: [])
    let now = Date().timeIntervalSince1970

    var state = SimulatedState(cluster: cluster, elapsed: 40)
    state.clockTime = now + 3600  // an unpaced run got an hour ahead of the wall clock
    try FileStateStore(path: path).save(state)
    let ahead = try await SimulatedCluster.driver(cluster: cluster, statePath: path, environment: [:])
    #expect(ahead.clock.now() >= now + 3600 && ahead.clock.elapsed == 40)

    state.clockTime = now - 3600
    try FileStateStore(path: path).save(state)
    let behind = try await SimulatedCluster.driver(cluster: cluster, statePath: path, environment: [:])
    #expect(behind.clock.now() >= now && behind.clock.now() < now + 60)
  }
}
