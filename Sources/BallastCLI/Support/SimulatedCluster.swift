import BallastEngine
import BallastModel
import Foundation

/// Makes the simulated hypervisors of a cluster whose file says `driver: simulated`.
enum SimulatedCluster {
  /// Environment variable with step timings of the simulated hypervisors, as a JSON object of
  /// ``SimulationTimings`` fields, e.g. `{"querySeconds": 1, "commitSeconds": 1}`: to slow a
  /// demonstration down, or to give a test time to act during a stage.
  static let timingsVariable = "BALLAST_SIMULATION_TIMINGS"

  /// The driver for `cluster`: resumed from the state file when it holds a state, else the
  /// cluster as the file describes it (saved to the state file at once when one is given).
  ///
  /// Virtual time starts at the wall clock's now, or where the process that last saved the
  /// state left it if that is later: the history's times never run backwards.
  static func driver(
    cluster: Cluster, statePath: String?, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> SimulatedDriver {
    let timings = try self.timings(environment)
    let now = Date().timeIntervalSince1970
    guard let statePath else {
      return try SimulatedDriver(cluster: cluster, timings: timings, clock: VirtualClock(origin: now))
    }
    let store = FileStateStore(path: statePath)
    if let saved = try store.load() {
      let resumeAt = max(now, saved.clockTime ?? now)
      return try SimulatedDriver(
        resumingFrom: store, expecting: cluster, timings: timings, origin: resumeAt - saved.elapsed)
    }
    return try SimulatedDriver(cluster: cluster, store: store, timings: timings, clock: VirtualClock(origin: now))
  }

  /// The timings `environment` sets (defaults for the others).
  static func timings(_ environment: [String: String]) throws -> SimulationTimings {
    var timings = SimulationTimings()
    guard let text = environment[timingsVariable], !text.isEmpty else { return timings }
    let fields: [String: WritableKeyPath<SimulationTimings, Double>] = [
      "reserveSeconds": \.reserveSeconds, "releaseSeconds": \.releaseSeconds, "commitSeconds": \.commitSeconds,
      "activateSeconds": \.activateSeconds, "resumeSeconds": \.resumeSeconds, "registerSeconds": \.registerSeconds,
      "removeSeconds": \.removeSeconds, "shutdownSeconds": \.shutdownSeconds, "bootSeconds": \.bootSeconds,
      "configurationBytes": \.configurationBytes, "stallTimeoutSeconds": \.stallTimeoutSeconds,
      "querySeconds": \.querySeconds,
    ]
    let known = fields.keys.sorted().joined(separator: ", ")
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
      throw CommandFailure(
        "\(timingsVariable): expected a JSON object of timings ({\"name\": number}; names: \(known))")
    }
    for (name, value) in object.sorted(by: { $0.key < $1.key }) {
      guard let field = fields[name] else {
        throw CommandFailure("\(timingsVariable): unknown timing '\(name)' (known: \(known))")
      }
      guard let number = value as? NSNumber, number.doubleValue >= 0, !(value is Bool) else {
        throw CommandFailure("\(timingsVariable): \(name) must be a number of at least 0")
      }
      timings[keyPath: field] = number.doubleValue
    }
    return timings
  }
}
