import BallastEngine
import BallastModel
import Foundation

/// Makes the simulated hypervisors of a cluster whose file says `driver: simulated`.
public enum SimulatedCluster {
  /// Environment variable with step timings of the simulated hypervisors, as a JSON object of
  /// ``SimulationTimings`` fields, e.g. `{"querySeconds": 1, "commitSeconds": 1}`: to slow a
  /// demonstration down, or to give a test time to act during a stage.
  public static let timingsVariable = "BALLAST_SIMULATION_TIMINGS"
  /// Environment variable with a seed (a whole number): the simulated VMs then behave as a
  /// hidden truth drawn from it says (``SimulatedTruth``), not as the cluster file says, so the
  /// cost model has something to learn. Kept in a `--state` file with the rest of the state.
  public static let truthVariable = "BALLAST_SIMULATION_TRUTH"

  /// The driver for `cluster`: resumed from the state file when it holds a state, else the
  /// cluster as the file describes it (saved to the state file at once when one is given).
  ///
  /// Virtual time starts at the wall clock's now, or where the process that last saved the
  /// state left it if that is later: the history's times never run backwards.
  public static func driver(
    cluster: Cluster, statePath: String?, environment: [String: String] = ProcessInfo.processInfo.environment
  ) async throws -> SimulatedDriver {
    let timings = try self.timings(environment)
    let seed = try truthSeed(environment)
    let now = Date().timeIntervalSince1970
    let driver: SimulatedDriver
    if let statePath {
      let store = FileStateStore(path: statePath)
      if let saved = try store.load() {
        let resumeAt = max(now, saved.clockTime ?? now)
        driver = try SimulatedDriver(
          resumingFrom: store, expecting: cluster, timings: timings, origin: resumeAt - saved.elapsed)
      } else {
        driver = try SimulatedDriver(cluster: cluster, store: store, timings: timings, clock: VirtualClock(origin: now))
      }
    } else {
      driver = try SimulatedDriver(cluster: cluster, timings: timings, clock: VirtualClock(origin: now))
    }
    if let seed, await driver.truth?.seed != seed { try await driver.hideTruth(seed: seed) }
    return driver
  }

  /// The seed `environment` gives for a hidden truth, if any.
  /// - Throws: ``RuntimeError`` when it is not a whole number.
  public static func truthSeed(_ environment: [String: String]) throws -> UInt64? {
    guard let text = environment[truthVariable], !text.isEmpty else { return nil }
    guard let seed = UInt64(text.trimmingCharacters(in: .whitespaces)) else {
      throw RuntimeError(.badSetting, "\(truthVariable): expected a whole number (a seed), got '\(text)'")
    }
    return seed
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
