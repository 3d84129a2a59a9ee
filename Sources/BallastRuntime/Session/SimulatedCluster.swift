import BallastEngine
import BallastModel
import Foundation

/// Makes the simulated hypervisors of a cluster whose file says `driver: simulated`.
public enum SimulatedCluster {
  /// Environment variable with step timings of the simulated hypervisors, as a JSON object of
  /// ``SimulationTimings`` fields, e.g. `{"querySeconds": 1, "commitSeconds": 1}`: to slow a
  /// demonstration down, or to give a test time to act during a stage.
  public static let timingsVariable = "BALLAST_SIMULATION_TIMINGS"

  /// The driver for `cluster`: resumed from the state file when it holds a state, else the
  /// cluster as the file describes it (saved to the state file at once when one is given).
  ///
  /// Virtual time starts at the wall clock's now, or where the process that last saved the
  /// state left it if that is later: the history's times never run backwards.
  public static func driver(
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

  /// The timings `environment` sets (defaults for the others). The names are
  /// ``SimulationTimings``' own coding keys; each value a number of seconds (or bytes) ≥ 0.
  /// - Throws: ``RuntimeError`` naming the variable and what is wrong with it.
  public static func timings(_ environment: [String: String]) throws -> SimulationTimings {
    guard let text = environment[timingsVariable], !text.isEmpty else { return SimulationTimings() }
    var values = try JSONDecoder().decode([String: Double].self, from: JSONEncoder().encode(SimulationTimings()))
    let known = values.keys.sorted().joined(separator: ", ")
    guard let given = try? JSONDecoder().decode([String: TimingValue].self, from: Data(text.utf8)) else {
      throw RuntimeError(
        .badSetting, "\(timingsVariable): expected a JSON object of timings ({\"name\": number}; names: \(known))")
    }
    for (name, value) in given.sorted(by: { $0.key < $1.key }) {
      guard values[name] != nil else {
        throw RuntimeError(.badSetting, "\(timingsVariable): unknown timing '\(name)' (known: \(known))")
      }
      guard case .number(let number) = value, number >= 0 else {
        throw RuntimeError(.badSetting, "\(timingsVariable): \(name) must be a number of at least 0")
      }
      values[name] = number
    }
    return try JSONDecoder().decode(SimulationTimings.self, from: JSONEncoder().encode(values))
  }

  /// One value of the variable's object: a number, or anything else (refused).
  private enum TimingValue: Decodable {
    case number(Double)
    case other

    init(from decoder: any Decoder) throws {
      let container = try decoder.singleValueContainer()
      self = (try? container.decode(Double.self)).map(Self.number) ?? .other
    }
  }
}
