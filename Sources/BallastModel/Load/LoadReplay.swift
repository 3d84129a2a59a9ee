import Foundation

/// The load each VM will have over time, for replaying a day on the simulated driver.
///
/// A VM's load comes from, in order: its `trace:` file; its `samples:` (piecewise constant);
/// a trace from a folder of traces, assigned to running VMs in name order (round robin);
/// otherwise its `usage` stays as it is.
public struct LoadReplay: Sendable {
  /// CPU trace per VM name.
  public private(set) var traces: [String: LoadTrace] = [:]
  /// Sample series per VM name, oldest first.
  public private(set) var samples: [String: [LoadSample]] = [:]

  public init() {}

  /// The replay for `cluster` (read from `clusterFile`, against which `trace:` paths are
  /// resolved), with `folder` traces for VMs that have neither a trace nor samples.
  public static func load(cluster: Cluster, clusterFile: String, folder: String? = nil) throws -> LoadReplay {
    var replay = LoadReplay()
    let base = URL(fileURLWithPath: clusterFile).deletingLastPathComponent()
    var unassigned: [VM] = []
    for vm in cluster.vms where vm.state.isRunning {
      if let trace = vm.trace {
        let path = trace.hasPrefix("/") ? trace : base.appendingPathComponent(trace).path
        replay.traces[vm.name] = try LoadTrace.parse(ClusterFile.readText(path), file: path)
      } else if vm.samples.count > 1 {
        replay.samples[vm.name] = vm.samples.sorted { $0.at < $1.at }
      } else {
        unassigned.append(vm)
      }
    }
    if let folder {
      let loaded = try LoadTrace.loadFolder(folder)
      guard !loaded.isEmpty else {
        throw FileErrors([
          FileIssue(file: folder, line: 0, column: 0, keyPath: "", message: "no trace files in this folder")
        ])
      }
      for (i, vm) in unassigned.sorted(by: { $0.name < $1.name }).enumerated() {
        replay.traces[vm.name] = loaded[i % loaded.count].trace
      }
    }
    return replay
  }

  /// VMs whose load changes over time.
  public var replayedVMs: Int { traces.count + samples.count }

  /// `vm`'s CPU fraction at `seconds` after the start, or `nil` when it has no replay.
  public func cpu(of vm: String, at seconds: Double) -> Double? {
    if let trace = traces[vm] { return trace.value(at: seconds) }
    guard let series = samples[vm], let first = series.first, let last = series.last else { return nil }
    // The series repeats: its period is its span plus one average sample interval.
    let interval = series.count > 1 ? (last.at - first.at) / Double(series.count - 1) : 1
    let period = max(last.at - first.at + interval, 1)
    let offset = first.at + seconds.truncatingRemainder(dividingBy: period)
    return series.last { $0.at <= offset }?.cpu ?? first.cpu
  }
}
