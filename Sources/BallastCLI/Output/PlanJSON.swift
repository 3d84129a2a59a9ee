import BallastModel

/// A ``MigrationPlan`` as `plan --json` and `drain --dry-run --json` print it.
///
/// Keys are sorted by the encoder and figures rounded, so the same input gives byte-identical
/// output; `stats.planMillis` (the only measured figure) is left out with `--no-timing`.
/// Absent values are written as `null`, so every key is always there — except the rules a
/// cluster breaks: `violationsBefore` / `violationsAfter` and a move's `repairs` appear only
/// when the cluster breaks a rule (a plan of a cluster that keeps its rules reads as it always did).
struct PlanJSON: Encodable {
  struct Predicted: Encodable {
    var seconds: Double
    var downtimeMs: Double
    var bytes: Double
    var rounds: Int
    var converges: Bool
    var throttle: Double
  }

  struct Term: Encodable {
    var name: String
    var weight: Double
    var value: Double
  }

  struct DiskCopy: Encodable {
    var datastore: String
    var size: String
  }

  struct Move: Encodable {
    var vm: String
    var from: String
    var to: String
    var kind: MigrationKind
    var reason: String
    var predicted: Predicted
    var score: [Term]
    var scoreTotal: Double
    var requiresShutdown: Bool
    var disksToCopy: [DiskCopy]
    var dependsOn: [Int]
    var plannedStartSeconds: Double
    /// The broken rules the move repairs; left out for a balancing move.
    var repairs: [ViolationJSON]?
  }

  struct Rejected: Encodable {
    var vm: String
    var host: String?
    var filter: String
    var reason: String

    enum CodingKeys: String, CodingKey { case vm, host, filter, reason }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(vm, forKey: .vm)
      try container.encode(host, forKey: .host)
      try container.encode(filter, forKey: .filter)
      try container.encode(reason, forKey: .reason)
    }
  }

  struct HostLine: Encodable {
    var name: String
    var cpu: Double
    var memory: Double
    var state: HostState
  }

  struct View: Encodable {
    var imbalance: Double
    var hosts: [HostLine]
  }

  struct Stats: Encodable {
    var planMillis: Double?
  }

  var trigger: PlanTrigger
  var cluster: String
  var policy: String
  var moves: [Move]
  var rejected: [Rejected]
  var refusal: String?
  var before: View
  var after: View
  var predictedMakespanSeconds: Double
  var notes: [String]
  var stats: Stats
  var violationsBefore: [ViolationJSON]?
  var violationsAfter: [ViolationJSON]?

  enum CodingKeys: String, CodingKey {
    case trigger, cluster, policy, moves, rejected, refusal, before, after, predictedMakespanSeconds, notes, stats
    case violationsBefore, violationsAfter
  }

  init(_ plan: MigrationPlan, planMillis: Double?) {
    trigger = plan.trigger
    cluster = plan.cluster
    policy = plan.policy
    moves = plan.moves.map { move in
      Move(
        vm: move.vm, from: move.from, to: move.to, kind: move.kind, reason: move.reason,
        predicted: Predicted(
          seconds: JSONOutput.rounded(move.predicted.seconds, 3),
          downtimeMs: JSONOutput.rounded(move.predicted.downtimeMs, 3),
          bytes: move.predicted.bytes.rounded(), rounds: move.predicted.rounds, converges: move.predicted.converges,
          throttle: JSONOutput.rounded(move.predicted.throttle, 3)),
        score: move.score.map {
          Term(name: $0.name, weight: JSONOutput.rounded($0.weight), value: JSONOutput.rounded($0.value))
        },
        scoreTotal: JSONOutput.rounded(move.score.reduce(0) { $0 + $1.weight * $1.value }),
        requiresShutdown: move.requiresShutdown,
        disksToCopy: move.disksToCopy.map { DiskCopy(datastore: $0.datastore, size: $0.size.description) },
        dependsOn: move.dependsOn, plannedStartSeconds: JSONOutput.rounded(move.plannedStartSeconds, 3),
        repairs: move.repairs.map { $0.map(ViolationJSON.init) })
    }
    rejected = plan.rejected.map { Rejected(vm: $0.vm, host: $0.host, filter: $0.filter, reason: $0.reason) }
    refusal = plan.refusal
    before = Self.view(plan.before)
    after = Self.view(plan.after)
    predictedMakespanSeconds = JSONOutput.rounded(plan.predictedMakespanSeconds, 3)
    notes = plan.notes
    stats = Stats(planMillis: planMillis.map { JSONOutput.rounded($0, 3) })
    violationsBefore = plan.violationsBefore.map { $0.map(ViolationJSON.init) }
    violationsAfter = plan.violationsAfter.map { $0.map(ViolationJSON.init) }
  }

  static func view(_ view: ClusterView) -> View {
    View(
      imbalance: JSONOutput.rounded(view.imbalance, 6),
      hosts: view.hosts.map {
        HostLine(name: $0.name, cpu: JSONOutput.rounded($0.cpu), memory: JSONOutput.rounded($0.memory), state: $0.state)
      })
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(trigger, forKey: .trigger)
    try container.encode(cluster, forKey: .cluster)
    try container.encode(policy, forKey: .policy)
    try container.encode(moves, forKey: .moves)
    try container.encode(rejected, forKey: .rejected)
    try container.encode(refusal, forKey: .refusal)
    try container.encode(before, forKey: .before)
    try container.encode(after, forKey: .after)
    try container.encode(predictedMakespanSeconds, forKey: .predictedMakespanSeconds)
    try container.encode(notes, forKey: .notes)
    try container.encode(stats, forKey: .stats)
    try container.encodeIfPresent(violationsBefore, forKey: .violationsBefore)
    try container.encodeIfPresent(violationsAfter, forKey: .violationsAfter)
  }
}
