import Foundation

/// Makes synthetic load traces: a daily cycle around each VM's current load, with noise and
/// occasional bursts. Deterministic for a seed; written in the PlanetLab format (CPU percent
/// per line, every `stepSeconds`).
public struct TraceGenerator: Sendable {
  public var seed: UInt64
  public var stepSeconds: Double = 300
  public var duration: Double = 86400

  public init(seed: UInt64) { self.seed = seed }

  /// One trace per running VM of `cluster`, keyed by VM name.
  public func traces(for cluster: Cluster) -> [String: LoadTrace] {
    var random = SeededRandom(seed: seed ^ 0x7472_6163_6573)
    // VMs of one app share a daily rhythm: their peaks come at the same hour.
    var peakHour: [String: Double] = [:]
    var result: [String: LoadTrace] = [:]
    let steps = Int(duration / stepSeconds)
    for vm in cluster.vms where vm.state.isRunning {
      let app = vm.labels["app"] ?? vm.name
      if peakHour[app] == nil { peakHour[app] = random.uniform(8...20) }
      let peak = peakHour[app] ?? 14
      let base = vm.usage.cpu
      let amplitude = min(base, 1 - base) * random.uniform(0.4...0.9)
      var values: [Double] = []
      values.reserveCapacity(steps)
      var burstLeft = 0
      for step in 0..<steps {
        let hour = Double(step) * stepSeconds / 3600
        var value = base + amplitude * cos((hour - peak) / 24 * 2 * Double.pi)
        value += random.uniform(-0.05...0.05)
        if burstLeft == 0, random.unit() < 0.01 { burstLeft = 1 + random.index(4) }
        if burstLeft > 0 {
          value = max(value, random.uniform(0.85...1.0))
          burstLeft -= 1
        }
        values.append(min(1, max(0, value)))
      }
      result[vm.name] = LoadTrace(stepSeconds: stepSeconds, cpu: values)
    }
    return result
  }

  /// `trace` in the PlanetLab format: whole CPU percentages, one per line.
  public static func text(_ trace: LoadTrace) -> String {
    trace.cpu.map { String(Int(($0 * 100).rounded())) }.joined(separator: "\n") + "\n"
  }
}
