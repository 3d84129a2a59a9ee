import Foundation

/// A VM's CPU load over time: one value every `stepSeconds`, as a fraction of its vCPUs.
public struct LoadTrace: Sendable, Hashable {
  public var stepSeconds: Double
  /// CPU fractions 0…1, oldest first.
  public var cpu: [Double]

  public init(stepSeconds: Double, cpu: [Double]) {
    self.stepSeconds = stepSeconds
    self.cpu = cpu
  }

  /// Length of the trace.
  public var duration: Double { Double(cpu.count) * stepSeconds }

  /// The value in force at `seconds` after the start (the trace repeats when it runs out).
  public func value(at seconds: Double) -> Double {
    guard !cpu.isEmpty, stepSeconds > 0 else { return 0 }
    let index = Int((max(0, seconds) / stepSeconds).rounded(.down)) % cpu.count
    return cpu[index]
  }

  /// Parses one value per line, in percent (the PlanetLab format); blank lines and `#`
  /// comments are skipped. Throws ``FileErrors`` naming the first bad line.
  public static func parse(_ text: String, file: String, stepSeconds: Double = 300) throws -> LoadTrace {
    var values: [Double] = []
    for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let trimmed = String(line).trimmingWhitespace()
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      // The line is not quoted: a trace path may name any file (even a secret one), and its
      // content must not end up in an error message or a log.
      guard let percent = Double(trimmed), percent.isFinite, percent >= 0 else {
        throw FileErrors([
          FileIssue(
            file: file, line: number + 1, column: 1, keyPath: "",
            message: "expected a CPU percentage (a number from 0 to 100) on this line; is this a trace file?")
        ])
      }
      values.append(min(percent, 100) / 100)
    }
    guard !values.isEmpty else {
      throw FileErrors([FileIssue(file: file, line: 1, column: 1, keyPath: "", message: "the trace has no values")])
    }
    return LoadTrace(stepSeconds: stepSeconds, cpu: values)
  }

  /// Every regular file in `folder` as a trace, keyed by file name, sorted by name.
  public static func loadFolder(
    _ folder: String, stepSeconds: Double = 300
  ) throws -> [(name: String, trace: LoadTrace)] {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted()
    } catch {
      throw FileErrors([
        FileIssue(
          file: folder, line: 0, column: 0, keyPath: "", message: "cannot list the trace folder; check the path")
      ])
    }
    return try names.map { name in
      let path = (folder as NSString).appendingPathComponent(name)
      return (name, try parse(ClusterFile.readText(path), file: path, stepSeconds: stepSeconds))
    }
  }
}
