import GRDB

/// The history database's schema, as an ordered list of named migrations in plain SQL, the
/// same on SQLite and PostgreSQL.
///
/// **Append-only.** A migration that has shipped is never edited, renamed or removed: databases
/// in the field already ran it and record its name (SQLite: `grdb_migrations`; PostgreSQL:
/// `schema_migrations`). To change the schema, append a new migration at the end of
/// ``migrations``. Tests open a database created at every step and upgrade it, compare the
/// result with a fresh database, and compare the two backends' schemas.
///
/// Each migration is written in SQLite's SQL; PostgreSQL runs the same text through
/// ``PostgresSchema/translate(_:)`` (`INTEGER` → `BIGINT`, `REAL` → `DOUBLE PRECISION`, an
/// identity for `AUTOINCREMENT`, and the functions `json_valid` and `datetime` that migration
/// 001 defines there), unless the migration gives its own PostgreSQL text (triggers differ).
///
/// Conventions, so the file reads well in the plain `sqlite3` shell:
/// - times are `REAL` seconds since the Unix epoch, in columns ending in `_at`
///   (`SELECT datetime(started_at, 'unixepoch') FROM moves`), or see the `move_history` view;
/// - enumerations are lower-case `TEXT` with a `CHECK`; booleans are `INTEGER` 0 or 1;
/// - structured figures are JSON `TEXT` (checked with `json_valid`), never blobs.
public enum HistorySchema {
  /// One named step of the schema.
  public struct Migration: Sendable {
    public let name: String
    /// The SQLite text.
    public let sql: String
    /// The PostgreSQL text, when the translation of ``sql`` does not do.
    let postgresOverride: String?

    init(name: String, sql: String, postgres: String? = nil) {
      self.name = name
      self.sql = sql
      self.postgresOverride = postgres
    }

    /// The PostgreSQL text: the migration's own, or the translation of ``sql``.
    public var postgres: String { postgresOverride ?? PostgresSchema.translate(sql) }
  }

  /// Every migration, oldest first. Append only.
  public static let migrations: [Migration] = [
    Migration(
      name: "001-plans-moves-stages", sql: plansMovesStages,
      postgres: PostgresSchema.functions + PostgresSchema.translate(plansMovesStages)),
    Migration(name: "002-host-samples-and-state-changes", sql: hostRecords),
    Migration(name: "003-cluster-leases", sql: clusterLeases),
    Migration(name: "004-move-history-view", sql: moveHistoryView),
    Migration(name: "005-moves-by-host", sql: movesByHost),
    Migration(name: "006-cost-model-learning", sql: costModelLearning),
    Migration(
      name: "007-fencing-leaders-write-keys", sql: fencingLeadersWriteKeys,
      postgres: PostgresSchema.translate(fencingTables) + PostgresSchema.fencing),
  ]

  /// The start of the message the fencing triggers refuse a stale write with (both backends).
  static let fencingRefusal = "ballast-fenced"

  /// The names of ``migrations``, in order.
  public static var migrationNames: [String] { migrations.map(\.name) }

  /// A migrator that runs ``migrations`` (up to and including `last`, when given).
  public static func migrator(upTo last: String? = nil) -> DatabaseMigrator {
    var migrator = DatabaseMigrator()
    for migration in migrations {
      let sql = migration.sql
      migrator.registerMigration(migration.name) { db in try db.execute(sql: sql) }
      if migration.name == last { break }
    }
    return migrator
  }

  // MARK: Shipped migrations — never edit these; append new ones below.

  static let plansMovesStages = """
    -- A plan: one run of balance, drain, migrate (manual) or one round of the loop.
    CREATE TABLE plans (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      created_at REAL NOT NULL,
      trigger_kind TEXT NOT NULL CHECK (trigger_kind IN ('balance', 'drain', 'manual', 'loop')),
      policy TEXT NOT NULL,
      cluster TEXT NOT NULL,
      dry_run INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
      refusal TEXT,
      imbalance_before REAL NOT NULL,
      imbalance_predicted_after REAL NOT NULL,
      imbalance_measured_after REAL,
      predicted_makespan_seconds REAL NOT NULL,
      hosts_before TEXT NOT NULL CHECK (json_valid(hosts_before)),
      hosts_predicted_after TEXT NOT NULL CHECK (json_valid(hosts_predicted_after)),
      rejected TEXT NOT NULL CHECK (json_valid(rejected)),
      ended_at REAL
    );
    CREATE INDEX plans_by_time ON plans (created_at);

    -- A move: written for every move of a plan when the plan is recorded (started_at NULL: planned
    -- only, as in a dry run), started when the engine starts it, ended with its outcome.
    CREATE TABLE moves (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      plan_id INTEGER NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      vm TEXT NOT NULL,
      from_host TEXT NOT NULL,
      to_host TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('live', 'cold')),
      reason TEXT NOT NULL,
      requires_shutdown INTEGER NOT NULL CHECK (requires_shutdown IN (0, 1)),
      score TEXT NOT NULL CHECK (json_valid(score)),
      disks_to_copy TEXT NOT NULL CHECK (json_valid(disks_to_copy)),
      depends_on TEXT NOT NULL CHECK (json_valid(depends_on)),
      planned_start_seconds REAL NOT NULL,
      predicted_seconds REAL NOT NULL,
      predicted_downtime_ms REAL NOT NULL,
      predicted_bytes REAL NOT NULL,
      predicted_rounds INTEGER NOT NULL,
      predicted_converges INTEGER NOT NULL CHECK (predicted_converges IN (0, 1)),
      predicted_throttle REAL NOT NULL,
      measured_seconds REAL,
      measured_downtime_ms REAL,
      measured_bytes REAL,
      measured_rounds INTEGER,
      outcome TEXT CHECK (outcome IN ('completed', 'rolledBack', 'skipped', 'needsAttention')),
      detail TEXT,
      started_at REAL,
      ended_at REAL
    );
    CREATE INDEX moves_by_plan ON moves (plan_id, position);
    CREATE INDEX moves_by_vm ON moves (vm, started_at);
    CREATE INDEX moves_by_start ON moves (started_at);
    CREATE INDEX moves_unfinished ON moves (started_at) WHERE ended_at IS NULL;

    -- A stage attempt: intent_at is written before the stage's irreversible step, ended_at,
    -- outcome, figures and error after it. intent_at is NULL for an outcome recorded without an
    -- intent (a rollback of an earlier stage, or what reconcile did).
    CREATE TABLE stages (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      move_id INTEGER NOT NULL REFERENCES moves (id) ON DELETE CASCADE,
      stage TEXT NOT NULL,
      number INTEGER NOT NULL CHECK (number BETWEEN 0 AND 5),
      intent_at REAL,
      ended_at REAL,
      outcome TEXT CHECK (outcome IN ('succeeded', 'failed', 'rolledBack', 'aborted')),
      figures TEXT CHECK (figures IS NULL OR json_valid(figures)),
      error TEXT
    );
    CREATE INDEX stages_by_move ON stages (move_id, id);
    """

  static let hostRecords = """
    -- Host load as sampled by the load monitor (fractions: 1.0 is 100 %).
    CREATE TABLE host_samples (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      cluster TEXT NOT NULL,
      host TEXT NOT NULL,
      at REAL NOT NULL,
      cpu REAL NOT NULL,
      memory REAL NOT NULL
    );
    CREATE INDEX host_samples_by_host ON host_samples (cluster, host, at);
    CREATE INDEX host_samples_by_time ON host_samples (at);

    -- Maintenance on (drain) and off (activate), by whom and why.
    CREATE TABLE host_state_changes (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      cluster TEXT NOT NULL,
      host TEXT NOT NULL,
      maintenance INTEGER NOT NULL CHECK (maintenance IN (0, 1)),
      changed_by TEXT NOT NULL,
      reason TEXT NOT NULL,
      at REAL NOT NULL
    );
    CREATE INDEX host_state_changes_by_host ON host_state_changes (cluster, host, at);
    """

  static let clusterLeases = """
    -- At most one Ballast process runs migrations on a cluster: it holds the cluster's lease.
    CREATE TABLE cluster_leases (
      cluster TEXT PRIMARY KEY NOT NULL,
      holder TEXT NOT NULL,
      pid INTEGER NOT NULL,
      hostname TEXT NOT NULL,
      acquired_at REAL NOT NULL,
      renewed_at REAL NOT NULL,
      expires_at REAL NOT NULL
    );
    """

  static let moveHistoryView = """
    -- Moves with readable times, for the sqlite3 shell: SELECT * FROM move_history;
    CREATE VIEW move_history AS
    SELECT m.id, m.plan_id, p.cluster, p.trigger_kind, p.dry_run, m.vm, m.from_host, m.to_host, m.kind,
      m.outcome, datetime(m.started_at, 'unixepoch') AS started, datetime(m.ended_at, 'unixepoch') AS ended,
      m.predicted_seconds, m.measured_seconds, m.predicted_downtime_ms, m.measured_downtime_ms,
      m.reason, m.detail
    FROM moves m JOIN plans p ON p.id = m.plan_id
    ORDER BY m.id;
    """

  static let movesByHost = """
    -- `ballast history --host H`: moves from or to a host, newest first.
    CREATE INDEX moves_from_host ON moves (from_host, started_at);
    CREATE INDEX moves_to_host ON moves (to_host, started_at);
    """

  static let fencingLeadersWriteKeys = fencingTables + sqliteFencingTriggers

  /// The tables and columns of migration 007, the same on both backends.
  static let fencingTables = """
    -- High availability: several Ballast instances on one database (see README, "High availability").

    -- Every acquisition of a migration lease by a new holder increments its epoch: the fencing
    -- token. A released lease keeps its row (released_at set), so no epoch is ever given twice.
    ALTER TABLE cluster_leases ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE cluster_leases ADD COLUMN released_at REAL;

    -- The balancing loop's leader: one `balance --loop` per cluster acts, the others stand by.
    CREATE TABLE loop_leaders (
      cluster TEXT PRIMARY KEY NOT NULL,
      holder TEXT NOT NULL,
      pid INTEGER NOT NULL,
      hostname TEXT NOT NULL,
      acquired_at REAL NOT NULL,
      renewed_at REAL NOT NULL,
      expires_at REAL NOT NULL,
      epoch INTEGER NOT NULL DEFAULT 0,
      released_at REAL
    );

    -- The epoch of the migration lease a row was last written under (NULL: without a lease, as
    -- a dry run). The triggers below refuse a row whose epoch is not its cluster's current one.
    ALTER TABLE plans ADD COLUMN lease_epoch INTEGER;
    ALTER TABLE moves ADD COLUMN lease_epoch INTEGER;
    ALTER TABLE stages ADD COLUMN lease_epoch INTEGER;
    ALTER TABLE host_state_changes ADD COLUMN lease_epoch INTEGER;

    -- A write a client may retry after a lost connection carries a key the client made; the
    -- transaction that applies it records the key (and the id it created), so a retry of a write
    -- that did commit finds it and changes nothing.
    CREATE TABLE write_keys (
      key TEXT PRIMARY KEY NOT NULL,
      result INTEGER,
      at REAL NOT NULL
    );
    CREATE INDEX write_keys_by_time ON write_keys (at);

    """

  /// SQLite's fencing triggers (PostgreSQL's are in ``PostgresSchema/fencing``): for each table
  /// written under a lease, a trigger per write that refuses a row whose epoch is not that of
  /// its cluster's lease, still held.
  static let sqliteFencingTriggers =
    """
    -- The fencing check, made by the database: a row written under a lease carries the epoch it
    -- was taken at, and is refused unless that is the cluster's current lease, still held.

    """
    + [
      ("plans", ["INSERT", "UPDATE"], "cluster_leases l WHERE l.cluster = NEW.cluster"),
      (
        "moves", ["INSERT", "UPDATE"], "cluster_leases l JOIN plans p ON p.cluster = l.cluster WHERE p.id = NEW.plan_id"
      ),
      (
        "stages", ["INSERT", "UPDATE"],
        "cluster_leases l JOIN plans p ON p.cluster = l.cluster JOIN moves m ON m.plan_id = p.id WHERE m.id = NEW.move_id"
      ),
      ("host_state_changes", ["INSERT"], "cluster_leases l WHERE l.cluster = NEW.cluster"),
    ].flatMap { table, writes, lease in writes.map { fencingTrigger(table: table, on: $0, lease: lease) } }
    .joined(separator: "\n")

  /// One SQLite fencing trigger: `lease` finds the lease of the row's cluster (as `l`).
  private static func fencingTrigger(table: String, on write: String, lease: String) -> String {
    """
    CREATE TRIGGER \(table)_fenced_\(write.lowercased()) BEFORE \(write) ON \(table)
    WHEN NEW.lease_epoch IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM \(lease) AND l.epoch = NEW.lease_epoch AND l.released_at IS NULL)
    BEGIN SELECT RAISE(ABORT, '\(fencingRefusal): another process holds the lease of this cluster now'); END;
    """
  }

  static let costModelLearning = """
    -- What each completed migration showed about the cost model's inputs (the learner's input):
    -- its steps' times, its transfer's figures, the share of the links it was entitled to.
    CREATE TABLE model_observations (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      move_id INTEGER NOT NULL REFERENCES moves (id) ON DELETE CASCADE,
      cluster TEXT NOT NULL,
      vm TEXT NOT NULL,
      from_host TEXT NOT NULL,
      to_host TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('live', 'cold')),
      learned INTEGER NOT NULL CHECK (learned IN (0, 1)),
      observation TEXT NOT NULL CHECK (json_valid(observation)),
      at REAL NOT NULL
    );
    CREATE INDEX model_observations_by_vm ON model_observations (cluster, vm, at);
    CREATE INDEX model_observations_by_move ON model_observations (move_id);

    -- The learned figures, one row per VM (scope 'vm', subject the VM) or per link (scope 'link',
    -- subject the source host, target the destination), as JSON: each figure's estimate, its
    -- usual deviation and the number of migrations it learned from.
    CREATE TABLE model_estimates (
      cluster TEXT NOT NULL,
      scope TEXT NOT NULL CHECK (scope IN ('vm', 'link')),
      subject TEXT NOT NULL,
      target TEXT NOT NULL DEFAULT '',
      estimates TEXT NOT NULL CHECK (json_valid(estimates)),
      migrations INTEGER NOT NULL,
      updated_at REAL NOT NULL,
      PRIMARY KEY (cluster, scope, subject, target)
    );
    """
}
