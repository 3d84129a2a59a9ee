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
    var model: ModelJSON
  }

  /// One figure: its value and where it comes from (`file`, `assumed` or `learned`, with the
  /// number of migrations it was learned from).
  struct FigureJSON: Encodable {
    var value: Double
    var source: String
    var migrations: Int?

    init(_ figure: Figure, decimals: Int = 3) {
      value = JSONOutput.rounded(figure.value, decimals)
      switch figure.source {
      case .file: source = "file"
      case .assumed: source = "assumed"
      case .learned(let n):
        source = "learned"
        migrations = n
      }
    }
  }

  struct LinkJSON: Encodable {
    var to: String
    var capacityBytesPerSecond: FigureJSON
    var pauseSeconds: FigureJSON
    var finalCopyBytesPerSecond: FigureJSON
    var liveStepsSeconds: FigureJSON
    var coldStepsSeconds: FigureJSON
  }

  struct ModelJSON: Encodable {
    var learning: Bool
    var touchedMemoryBytes: FigureJSON
    var dirtyRateBytesPerSecond: FigureJSON
    var shutdownSeconds: FigureJSON
    var bootSeconds: FigureJSON
    var links: [LinkJSON]
  }

  static func model(_ figures: ModelFigures) -> ModelJSON {
    ModelJSON(
      learning: figures.learning, touchedMemoryBytes: FigureJSON(figures.vm.touchedMemory, decimals: 0),
      dirtyRateBytesPerSecond: FigureJSON(figures.vm.dirtyRate, decimals: 0),
      shutdownSeconds: FigureJSON(figures.vm.shutdownSeconds), bootSeconds: FigureJSON(figures.vm.bootSeconds),
      links: figures.links.keys.sorted().compactMap { to in
        figures.links[to].map { link in
          LinkJSON(
            to: to,
            capacityBytesPerSecond: FigureJSON(Figure(link.capacity, link.efficiency.source), decimals: 0),
            pauseSeconds: FigureJSON(link.pauseSeconds, decimals: 4),
            finalCopyBytesPerSecond: FigureJSON(link.finalRate, decimals: 0),
            liveStepsSeconds: FigureJSON(steps(link.liveSetupSeconds, link.liveFinishSeconds)),
            coldStepsSeconds: FigureJSON(steps(link.coldSetupSeconds, link.coldFinishSeconds)))
        }
      })
  }

  /// Two step figures as one: their sum, learned from the fewer migrations of the two.
  static func steps(_ a: Figure, _ b: Figure) -> Figure {
    switch (a.source, b.source) {
    case (.learned(let m), .learned(let n)): Figure(a.value + b.value, .learned(migrations: min(m, n)))
    case (.learned(let n), _), (_, .learned(let n)): Figure(a.value + b.value, .learned(migrations: n))
    default: Figure(a.value + b.value, a.source)
    }
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
        }, model: model(explanation.model)))
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
    out.append("")
    out += modelText(explanation.model, vm: explanation.vm, host: explanation.host)
    return out.joined(separator: "\n")
  }

  /// The cost model's figures behind the predictions, each with where it comes from.
  static func modelText(_ figures: ModelFigures, vm: String, host: String) -> [String] {
    func source(_ figure: Figure) -> String {
      switch figure.source {
      case .file: "file"
      case .assumed: "assumed"
      case .learned(let n): "learned, \(n) migration\(n == 1 ? "" : "s")"
      }
    }
    let learned = figures.learnedCount
    var lines = [
      figures.learning
        ? "Cost model: \(learned == 0 ? "nothing learned yet" : "\(learned) figure\(learned == 1 ? "" : "s") learned") "
          + "from completed migrations; the others from the cluster file or assumed."
        : "Cost model: learning is off (policy model.learn: false): the cluster file's figures and the defaults only."
    ]
    let v = figures.vm
    var table = TextTable(["FIGURE", "VALUE", "FROM"])
    table.add(["\(vm) touched memory", Wording.bytes(v.touchedMemory.value), source(v.touchedMemory)])
    table.add(["\(vm) dirty rate", "\(Bandwidth(bytesPerSecond: v.dirtyRate.value))", source(v.dirtyRate)])
    table.add(["\(vm) shutdown", Wording.duration(v.shutdownSeconds.value), source(v.shutdownSeconds)])
    table.add(["\(vm) boot", Wording.duration(v.bootSeconds.value), source(v.bootSeconds)])
    for to in figures.links.keys.sorted() {
      guard let link = figures.links[to] else { continue }
      let capacity = Figure(link.capacity, link.efficiency.source)
      table.add(["link \(host) → \(to)", "\(Bandwidth(bytesPerSecond: link.capacity))", source(capacity)])
      let live = steps(link.liveSetupSeconds, link.liveFinishSeconds)
      let pause = link.pauseSeconds
      if live.source.isLearned || pause.source.isLearned {
        table.add([
          "  live steps, pause", "\(Wording.duration(live.value)), \(Wording.duration(pause.value))", source(live),
        ])
      }
      let cold = steps(link.coldSetupSeconds, link.coldFinishSeconds)
      if cold.source.isLearned { table.add(["  cold steps", Wording.duration(cold.value), source(cold)]) }
    }
    lines.append(table.render())
    return lines
  }
}
