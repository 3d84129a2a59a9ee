import BallastEngine
import Foundation

/// Pauses the QEMU driver makes at chosen points of a live migration, so a test can catch a
/// Ballast process there (the real steps take milliseconds). All zero unless set, from
/// `BALLAST_QEMU_STEP_DELAYS` as JSON (`{"commit": 3}`), the way the simulated driver takes
/// its timings.
public struct QEMUStepDelays: Sendable, Hashable, Codable {
  /// The environment variable the CLI reads.
  public static let environmentVariable = "BALLAST_QEMU_STEP_DELAYS"

  /// Seconds after a transfer completed (both QEMUs hold the whole state, paused) before
  /// ``QEMUDriver/transfer(_:settings:onEvent:)`` returns: stop-and-copy is still under way.
  public var afterTransfer: Double = 0
  /// Seconds at the start of ``QEMUDriver/commit(_:)``, before anything is given up.
  public var commit: Double = 0
  /// Seconds at the start of ``QEMUDriver/activate(_:)``, before the destination resumes.
  public var activate: Double = 0

  public init(afterTransfer: Double = 0, commit: Double = 0, activate: Double = 0) {
    self.afterTransfer = afterTransfer
    self.commit = commit
    self.activate = activate
  }

  /// The delays in `environment`; none when the variable is unset. A value that is not valid
  /// JSON of this shape is an error, so a mistyped test setting does not pass silently.
  public static func fromEnvironment(
    _ environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> QEMUStepDelays {
    guard let text = environment[environmentVariable], !text.isEmpty else { return QEMUStepDelays() }
    do {
      return try JSONDecoder().decode(QEMUStepDelays.self, from: Data(text.utf8))
    } catch {
      throw DriverError(
        "\(environmentVariable) is not valid: \(text)",
        hint: #"expected JSON like {"afterTransfer": 2, "commit": 2, "activate": 2} (seconds)"#)
    }
  }

  /// Missing keys are zero.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    afterTransfer = try container.decodeIfPresent(Double.self, forKey: .afterTransfer) ?? 0
    commit = try container.decodeIfPresent(Double.self, forKey: .commit) ?? 0
    activate = try container.decodeIfPresent(Double.self, forKey: .activate) ?? 0
  }

  static func pause(_ seconds: Double) async throws {
    if seconds > 0 { try await Task.sleep(for: .seconds(seconds)) }
  }
}
