import BallastEngine
import BallastModel

/// The cost model's memory: every completed migration's observation, and the estimates
/// learned from them (``CostLearner``), per cluster.
extension HistoryStore {
  /// Records what completed `move` showed and, when `learn`, updates its VM's and host pair's
  /// estimates in the same transaction.
  public func recordObservation(
    _ observation: MigrationObservation, move: MoveID, learn: Bool, settings: LearningSettings
  ) async throws {
    let text = try JSONColumn.encode(observation)
    let path = self.path
    // Keyed: sent again after a lost connection, it is recorded (and learned from) once.
    _ = try await write("record what moving \(observation.vm) measured for the cost model", key: WriteKey()) { tx in
      guard
        let cluster = try tx.value(
          String.self, "SELECT p.cluster FROM moves m JOIN plans p ON p.id = m.plan_id WHERE m.id = ?", move)
      else {
        throw HistoryError(path: path, "cannot record what move \(move) measured: there is no such move")
      }
      let now = try tx.now()
      try tx.execute(
        """
        INSERT INTO model_observations (move_id, cluster, vm, from_host, to_host, kind, learned, observation, at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        move, cluster, observation.vm, observation.from, observation.to, observation.kind.rawValue, learn, text, now)
      guard learn else { return nil }
      var vm =
        try Self.stored(VMEstimates.self, tx, cluster: cluster, scope: "vm", subject: observation.vm) ?? VMEstimates()
      var link =
        try Self.stored(
          LinkEstimates.self, tx, cluster: cluster, scope: "link", subject: observation.from, target: observation.to)
        ?? LinkEstimates()
      CostLearner.learn(from: observation, vm: &vm, link: &link, settings: settings)
      // The steps around a transfer are learned for both directions of the pair.
      var reverse =
        try Self.stored(
          LinkEstimates.self, tx, cluster: cluster, scope: "link", subject: observation.to, target: observation.from)
        ?? LinkEstimates()
      CostLearner.learnSteps(from: observation, link: &reverse, settings: settings)
      try Self.save(tx, cluster: cluster, scope: "vm", subject: observation.vm, vm, count: vm.migrations, at: now)
      try Self.save(
        tx, cluster: cluster, scope: "link", subject: observation.from, target: observation.to, link,
        count: link.migrations, at: now)
      try Self.save(
        tx, cluster: cluster, scope: "link", subject: observation.to, target: observation.from, reverse,
        count: reverse.migrations, at: now)
      return nil
    }
  }

  /// What completed migrations taught about `cluster`'s VMs and links.
  public func learnedEstimates(cluster: String) async throws -> LearnedEstimates {
    try await read("read the cost model's learned figures") { tx in
      var learned = LearnedEstimates()
      let rows = try tx.rows(
        "SELECT scope, subject, target, estimates FROM model_estimates WHERE cluster = ?", cluster)
      for row in rows {
        let scope: String = try row.decode(forColumn: "scope")
        let subject: String = try row.decode(forColumn: "subject")
        let target: String = try row.decode(forColumn: "target")
        let text: String = try row.decode(forColumn: "estimates")
        if scope == "vm" {
          learned.vms[subject] = try? JSONColumn.decode(VMEstimates.self, from: text)
        } else {
          learned.links[HostPair(from: subject, to: target)] = try? JSONColumn.decode(LinkEstimates.self, from: text)
        }
      }
      return learned
    }
  }

  private static func stored<T: Decodable>(
    _ type: T.Type, _ tx: any SQLTransaction, cluster: String, scope: String, subject: String, target: String = ""
  ) throws -> T? {
    try tx.value(
      String.self,
      "SELECT estimates FROM model_estimates WHERE cluster = ? AND scope = ? AND subject = ? AND target = ?",
      cluster, scope, subject, target
    ).flatMap { try? JSONColumn.decode(type, from: $0) }
  }

  private static func save(
    _ tx: any SQLTransaction, cluster: String, scope: String, subject: String, target: String = "",
    _ estimates: some Encodable, count: Int, at: Double
  ) throws {
    try tx.execute(
      """
      INSERT INTO model_estimates (cluster, scope, subject, target, estimates, migrations, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (cluster, scope, subject, target)
      DO UPDATE SET estimates = excluded.estimates, migrations = excluded.migrations, updated_at = excluded.updated_at
      """,
      cluster, scope, subject, target, try JSONColumn.encode(estimates), count, at)
  }
}
