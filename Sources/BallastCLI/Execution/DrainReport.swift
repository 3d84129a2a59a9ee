import BallastEngine
import BallastModel

/// How a drain ended: refused, or run with the host empty or with what is left on it and why.
struct DrainReport: Sendable {
  /// A VM still on the drained host, and why.
  struct Left: Sendable, Hashable, Encodable {
    var vm: String
    var reason: String
  }

  var host: String
  var plan: MigrationPlan
  /// `nil` when the drain was refused (nothing ran).
  var summary: ExecutionSummary?
  var left: [Left]
  var saved: Bool

  /// VMs on `host` in `cluster` after the run, each with why it is still there.
  static func left(on host: String, in cluster: Cluster, summary: ExecutionSummary) -> [Left] {
    var results: [String: MoveResult] = [:]
    for result in summary.results { results[result.move.vm] = result }
    return cluster.vms.filter { $0.host == host }.map { vm in
      guard let result = results[vm.name] else {
        return Left(vm: vm.name, reason: "not in the plan: it came onto \(host) after the plan was made")
      }
      let why = result.reason ?? "no reason given"
      switch result.outcome {
      case .completed: return Left(vm: vm.name, reason: "its move completed, yet the hypervisors show it here")
      case .rolledBack: return Left(vm: vm.name, reason: "its move to \(result.move.to) failed and was undone: \(why)")
      case .skipped: return Left(vm: vm.name, reason: "its move to \(result.move.to) was skipped: \(why)")
      case .needsAttention:
        return Left(vm: vm.name, reason: "its move to \(result.move.to) NEEDS ATTENTION: \(why)")
      }
    }
  }

  /// One line before the moves start.
  static func headline(_ plan: MigrationPlan) -> String {
    let live = plan.moves.filter { $0.kind == .live }.count
    let moves = plan.moves.count
    return
      "Draining: \(moves) move\(moves == 1 ? "" : "s") (\(live) live, \(moves - live) cold), predicted to finish in "
      + PlanRenderer.duration(plan.predictedMakespanSeconds)
  }

  /// Says that `host` is in maintenance now (or was already).
  static func printMaintenance(host: String, previous: HostState, json: Bool) {
    if json {
      var line = JSONLine(event: "maintenance")
      line.add("host", host)
      line.add("previous", previous.rawValue)
      line.add("state", HostState.maintenance.rawValue)
      writeLine(line.text)
    } else if previous == .maintenance {
      writeLine("\(host) is already in maintenance: no VM is placed on it.")
    } else {
      writeLine("\(host) is in maintenance now: no VM is placed on it until `ballast activate \(host)`.")
    }
  }

  /// The drain's own keys on the run's last JSON line.
  func addFields(to line: inout JSONLine) {
    line.add("host", host)
    line.add("empty", left.isEmpty)
    line.add("left", json: (try? JSONOutput.string(left, pretty: false)) ?? "[]")
    line.add("saved", saved)
  }

  /// Prints the end of the drain: the refusal with every blocked VM, or what is left (the run's
  /// summary line has already been printed).
  func print(json: Bool, policy: Policy, clusterPath: String, saveAsked: Bool) {
    if let refusal = plan.refusal {
      if json {
        var line = JSONLine(event: "refused")
        line.add("host", host)
        line.add("refusal", refusal)
        line.add(
          "rejected", json: (try? JSONOutput.string(PlanJSON(plan, planMillis: nil).rejected, pretty: false)) ?? "[]")
        writeLine(line.text)
      } else {
        writeLine(PlanRenderer.text(plan, policy: policy, drained: host, planMillis: nil))
        writeLine(
          "\n\(host) stays in maintenance; free room on other hosts and drain again, or `ballast activate \(host)`.")
      }
      return
    }
    if json {
      if summary == nil {  // nothing had to move: no run printed a summary
        var line = JSONLinesOutput.summaryLine(
          for: ExecutionSummary(results: [], makespanSeconds: 0, lowerBoundSeconds: 0, cancelled: false))
        addFields(to: &line)
        writeLine(line.text)
      }
      return
    }
    if left.isEmpty {
      writeLine("\(host) is empty and in maintenance.")
    } else {
      writeLine("\(host) still holds \(left.count) VM\(left.count == 1 ? "" : "s"):")
      for item in left { writeLine("  \(item.vm) — \(item.reason)") }
    }
    if saved {
      writeLine("Saved the host state and the new placement to \(clusterPath).")
    } else if !saveAsked {
      writeLine("The cluster file is unchanged (add --save to write the host state and the new placement).")
    }
  }
}
