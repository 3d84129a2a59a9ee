import BallastTestSupport
import Foundation
import GRDB
import Testing

@testable import BallastHistory

@Suite("Schema")
struct SchemaTests {
  @Test("a new database has every table, WAL, foreign keys and a busy timeout")
  func creation() async throws {
    try await withStore { store, _ in
      #expect(try await store.appliedMigrations() == HistorySchema.migrationNames)
      let (tables, journalMode, foreignKeys, busyTimeout, synchronous) = try await store.pool.write { db in
        (
          try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name"),
          try String.fetchOne(db, sql: "PRAGMA journal_mode"),
          try Int.fetchOne(db, sql: "PRAGMA foreign_keys"),
          try Int.fetchOne(db, sql: "PRAGMA busy_timeout"),
          try Int.fetchOne(db, sql: "PRAGMA synchronous")
        )
      }
      for table in ["plans", "moves", "stages", "host_samples", "host_state_changes", "cluster_leases", "move_history"]
      {
        #expect(tables.contains(table), "missing \(table)")
      }
      #expect(journalMode == "wal")
      #expect(foreignKeys == 1)
      #expect(busyTimeout == 5000)  // the writer's; GRDB gives WAL readers 10 s
      #expect(synchronous == 2)  // FULL
    }
  }

  @Test("a simulation may trade durability for speed")
  func normalDurability() async throws {
    try await withTemporaryDirectory { directory in
      let store = try HistoryStore(path: directory.appendingPathComponent("sim.sqlite").path, durability: .normal)
      #expect(try await store.pool.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 1)
    }
  }

  /// Opens a database left at each migration step, with data written at that step, and upgrades it.
  @Test("upgrade from every earlier schema version", arguments: HistorySchema.migrationNames.indices)
  func upgrade(from step: Int) async throws {
    try await withTemporaryDirectory { directory in
      let old = directory.appendingPathComponent("old.sqlite").path
      let names = HistorySchema.migrationNames
      do {
        let pool = try DatabasePool(path: old)
        try HistorySchema.migrator(upTo: names[step]).migrate(pool)
        #expect(try await pool.read { try HistorySchema.migrator().appliedMigrations($0) } == Array(names[...step]))
        try await pool.write { db in try insertRowsKnownAt(step: step, db) }
        try pool.close()
      }

      let upgraded = try HistoryStore(path: old)
      #expect(try await upgraded.appliedMigrations() == names)
      let plans = try await upgraded.plans()
      #expect(plans.map(\.policy) == ["old-policy"])
      let moves = try await upgraded.migrations(MigrationFilter(includePlanned: true))
      #expect(moves.map(\.vm) == ["web1"])
      #expect(moves.first?.outcome == .completed)
      if step >= 1 {
        #expect(try await upgraded.hostSamples(host: "h1").map(\.cpu) == [0.5])
      }

      let fresh = try HistoryStore(path: directory.appendingPathComponent("fresh.sqlite").path)
      #expect(try await schema(of: upgraded) == schema(of: fresh))
    }
  }

  /// Guards the rule that a shipped migration is never edited: a change to one of these breaks
  /// every database that already ran it. Append a new migration instead.
  @Test("shipped migrations are unchanged")
  func shippedMigrationsUnchanged() {
    let shipped: [(String, UInt64)] = [
      ("001-plans-moves-stages", 0x4eb2_cfb1_7ee6_2bd1),
      ("002-host-samples-and-state-changes", 0xcef1_be49_960c_497b),
      ("003-cluster-leases", 0x9f4c_6a14_1027_ba1e),
      ("004-move-history-view", 0x4ef7_05d7_e8d2_c1aa),
      ("005-moves-by-host", 0xdab4_ccfb_003a_06cd),
      ("006-cost-model-learning", 0x7a91_3e1a_46ae_cf09),
      ("007-fencing-leaders-write-keys", 0x7afc_e2c7_f87f_b1e0),
    ]
    #expect(
      HistorySchema.migrations.count == shipped.count, "pin the hash of each new migration here when it ships")
    for (index, (name, hash)) in shipped.enumerated() {
      let migration = HistorySchema.migrations[index]
      #expect(migration.name == name)
      #expect(fnv1a(migration.sql) == hash, "migration \(name) was edited: append a new migration instead")
    }
  }

  @Test("a database written by a newer Ballast is refused with what to do")
  func newerDatabase() async throws {
    try await withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("new.sqlite").path
      do {
        let store = try HistoryStore(path: path)
        try await store.pool.write { db in
          try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('999-from-the-future')")
        }
      }
      let error = try #require(throws: HistoryError.self) { try HistoryStore(path: path) }
      #expect(error.message.contains("newer Ballast"))
      #expect(error.message.contains("999-from-the-future"))
      #expect(error.path == path)
    }
  }

  @Test("a file that is not a database is refused naming the file")
  func notADatabase() async throws {
    try await withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("notes.sqlite").path
      try String(repeating: "not a database\n", count: 200).write(toFile: path, atomically: true, encoding: .utf8)
      let error = try #require(throws: HistoryError.self) { try HistoryStore(path: path) }
      #expect(error.description.contains(path))
      #expect(error.message.contains("not an SQLite database"))
      #expect(error.hint?.contains("--db") == true)
    }
  }

  @Test("a missing directory is reported with what to do")
  func missingDirectory() async throws {
    try await withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("absent/ballast.sqlite").path
      let error = try #require(throws: HistoryError.self) { try HistoryStore(path: path) }
      #expect(error.message.contains("does not exist"))
      #expect(error.hint?.contains("BALLAST_DB") == true)
    }
  }

  @Test("the database and its -wal and -shm files are readable by their owner only")
  func ownerOnlyPermissions() async throws {
    try await withStore { store, _ in
      // A write makes sure the WAL and shared-memory files exist.
      try await store.recordHostSamples([HostSample(cluster: "lab", host: "h1", at: 1, cpu: 0.1, memory: 0.2)])
      for suffix in ["", "-wal", "-shm"] {
        let attributes = try FileManager.default.attributesOfItem(atPath: store.path + suffix)
        let permissions = try #require(attributes[.posixPermissions] as? Int)
        #expect(permissions == 0o600, "\(store.path + suffix) has \(String(permissions, radix: 8))")
      }
    }
  }

  @Test("the path comes from --db, then BALLAST_DB, then ballast.sqlite")
  func location() {
    #expect(
      HistoryLocation.path(option: "/tmp/a.sqlite", environment: ["BALLAST_DB": "/tmp/b.sqlite"]) == "/tmp/a.sqlite")
    #expect(HistoryLocation.path(option: nil, environment: ["BALLAST_DB": "/tmp/b.sqlite"]) == "/tmp/b.sqlite")
    #expect(HistoryLocation.path(option: nil, environment: [:]) == "ballast.sqlite")
  }
}

/// Rows as a Ballast at schema step `step` would have written them.
private func insertRowsKnownAt(step: Int, _ db: Database) throws {
  try db.execute(
    sql: """
      INSERT INTO plans (id, created_at, trigger_kind, policy, cluster, dry_run, imbalance_before,
        imbalance_predicted_after, predicted_makespan_seconds, hosts_before, hosts_predicted_after, rejected, ended_at)
      VALUES (1, 1000, 'balance', 'old-policy', 'lab', 0, 0.3, 0.1, 20, '[]', '[]', '[]', 1030);
      INSERT INTO moves (plan_id, position, vm, from_host, to_host, kind, reason, requires_shutdown, score,
        disks_to_copy, depends_on, planned_start_seconds, predicted_seconds, predicted_downtime_ms, predicted_bytes,
        predicted_rounds, predicted_converges, predicted_throttle, outcome, started_at, ended_at)
      VALUES (1, 0, 'web1', 'h1', 'h2', 'live', 'h1 is hot', 0, '[]', '[]', '[]', 0, 10, 50, 1e9, 3, 1, 0,
        'completed', 1001, 1011);
      """)
  if step >= 1 {
    try db.execute(
      sql: "INSERT INTO host_samples (cluster, host, at, cpu, memory) VALUES ('lab', 'h1', 1000, 0.5, 0.4)")
  }
  if step >= 2 {
    try db.execute(
      sql: """
        INSERT INTO cluster_leases (cluster, holder, pid, hostname, acquired_at, renewed_at, expires_at)
        VALUES ('lab', 'old', 1, 'x', 0, 0, 1)
        """)
  }
}

private func schema(of store: HistoryStore) async throws -> [String] {
  try await store.pool.read { db in
    try String.fetchAll(
      db, sql: "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name")
  }
}

/// 64-bit FNV-1a of the UTF-8 bytes.
func fnv1a(_ text: String) -> UInt64 {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in text.utf8 {
    hash ^= UInt64(byte)
    hash = hash &* 0x0000_0100_0000_01b3
  }
  return hash
}
