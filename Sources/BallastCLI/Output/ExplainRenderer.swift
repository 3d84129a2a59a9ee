import BallastModel
import BallastPlanner

/// Prints `plan --explain VM`: every host's verdict for one VM.
enum ExplainRenderer {
  struct CandidateJSON: Encodable {
    var host: String
    var verdict: CandidateVerdict.Verdict
    var rejections: [PlanJSON.Rejected]
    var kind: MigrationKind?
    var score: [PlanJSON.Term]
    var total: Double?
    var predicted: PlanJSON.Predicted?
    var requiresShutdown: Bool
    var imbalanceAfter: Double?

    enum CodingKeys: String, CodingKey {
      case host, verdict, rejections, kind, score, total, predicted, requiresShutdown, imbalanceAfter
    }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(host, forKey: .host)
      try container.encode(verdict, forKey: .verdict)
      try container.encode(rejections, forKey: .rejections)
      try container.encode(kind, forKey: .kind)
      try container.encode(score, forKey: .score)
      try container.encode(total, forKey: .total)
      try container.encode(predicted, forKey: .predicted)
      try container.encode(requiresShutdown, forKey: .requiresShutdown)
      try container.encode(imbalanceAfter, forKey: .imbalanceAfter)
    }
  }

  struct ExplanationJSON: Encodable {
    var vm: String
    var host: String
    var state: PowerState
    var imbalance: Double
    var notes: [String]
    var candidates: [CandidateJSON]
  }

  static func json(_ explanation: PlacementExplanation) throws -> String {
    try JSONOutput.string(
      ExplanationJSON(
        vm: explanation.vm, host: explanation.host, state: explanation.state,
        imbalance: JSONOutput.rounded(explanation.imbalance, 6), notes: explanation.notes,
        candidates: explanation.candidates.map { c in
          CandidateJSON(
            host: c.host, verdict: c.verdict,
            rejections: c.rejections.map { .init(vm: $0.vm, host: $0.host, filter: $0.filter, reason: $0.reason) },
            kind: c.kind,
            score: c.score.map {
              .init(name: $0.name, weight: JSONOutput.rounded($0.weight), value: JSONOutput.rounded($0.value))
            },
            total: c.total.map { JSONOutput.rounded($0) },
            predicted: c.predicted.map {
              .init(
                seconds: JSONOutput.rounded($0.seconds, 3), downtimeMs: JSONOutput.rounded($0.downtimeMs, 3),
                bytes: $0.bytes.rounded(), rounds: $0.rounds, converges: $0.converges,
                throttle: JSONOutput.rounded($0.throttle, 3))
            },
            requiresShutdown: c.requiresShutdown, imbalanceAfter: c.imbalanceAfter.map { JSONOutput.rounded($0, 6) })
        }))
  }

  static func text(_ explanation: PlacementExplanation) -> String {
    var out = [
      "Where could \(explanation.vm) go? It is \(explanation.state.rawValue) on \(explanation.host); "
        + "cluster imbalance \(PlanRenderer.fixed(explanation.imbalance, 3)).",
      "",
    ]
    var table = TextTable(["HOST", "VERDICT", "KIND", "SCORE", "IMBALANCE AFTER", "DETAILS"])
    for c in explanation.candidates {
      switch c.verdict {
      case .current:
        table.add([c.host, "current", "", "", "", "where it runs now"])
      case .candidate:
        var details = c.score.map { "\($0.name) \(PlanRenderer.number($0.weight * $0.value))" }.joined(separator: ", ")
        if let p = c.predicted {
          details += "; ~\(PlanRenderer.duration(p.seconds))"
          details +=
            c.requiresShutdown
            ? ", down \(PlanRenderer.duration(p.downtimeMs / 1000))"
            : ", pause \(PlanRenderer.duration(p.downtimeMs / 1000))"
        }
        table.add([
          c.host, "candidate", c.kind?.rawValue ?? "", c.total.map(PlanRenderer.number) ?? "",
          c.imbalanceAfter.map { PlanRenderer.fixed($0, 3) } ?? "", details,
        ])
      case .rejected:
        let details = c.rejections.map { "\($0.filter): \($0.reason)" }.joined(separator: "; ")
        table.add([c.host, "rejected", "", "", "", details])
      }
    }
    out.append(table.render())
    if !explanation.notes.isEmpty {
      out.append("")
      out += explanation.notes.map { "- \($0)" }
    }
    return out.joined(separator: "\n")
  }
}
