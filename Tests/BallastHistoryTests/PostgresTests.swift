import BallastEngine
import BallastTestSupport
import Foundation
import Testing

@testable import BallastHistory

@Suite("PostgreSQL history")
struct PostgresTests {
  @Test("a new PostgreSQL database gets every migration, with the tables and columns SQLite has")
  func sameSchemaAsSQLite() async throws {
    let sqlite = try await withStore(.sqlite) { store, _ in
      #expect(try await store.appliedMigrations() == HistorySchema.migrationNames)
      var columns: Set<String> = []
      let tables = try await store.rowsForTest(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('grdb_migrations', 'sqlite_sequence')")
      for table in tables {
        let name: String = try table.decode(forColumn: "name")
        for column in try await store.rowsForTest("SELECT name FROM pragma_table_info(?)", name) {
          columns.insert("\(name).\(try column.decode(String.self, forColumn: "name"))")
        }
      }
      return columns
    }
    let postgres = try await withStore(.postgres) { store, _ in
      #expect(store.backend == .postgres)
      #expect(try await store.appliedMigrations() == HistorySchema.migrationNames)
      let rows = try await store.rowsForTest(
        """
        SELECT c.table_name AS table_name, c.column_name AS column_name FROM information_schema.columns c
        JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema
        WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name <> 'schema_migrations'
        """)
      return Set(
        try rows.map {
          "\(try $0.decode(String.self, forColumn: "table_name")).\(try $0.decode(String.self, forColumn: "column_name"))"
        })
    }
    #expect(!sqlite.isEmpty)
    #expect(postgres == sqlite)
  }

  @Test("several processes opening one new PostgreSQL database at once all find it migrated")
  func concurrentMigration() async throws {
    try await withPostgresDatabase { url, _ in
      let target = HistoryTarget.postgres(try PostgresURL(url, environment: [:]))
      let stores = try await withThrowingTaskGroup(of: HistoryStore.self) { group in
        for _ in 0..<4 { group.addTask { try await HistoryStore.open(target) } }
        var stores: [HistoryStore] = []
        for try await store in group { stores.append(store) }
        return stores
      }
      for store in stores {
        #expect(try await store.appliedMigrations() == HistorySchema.migrationNames)
        await store.close()
      }
    }
  }

  @Test("the database refuses a row written under an epoch that was taken over", arguments: Backend.allCases)
  func fencingTrigger(backend: Backend) async throws {
    let clock = ManualClock()
    try await withTwoStores(backend, clock: clock.historyClock) { old, new in
      let first = try await old.acquireLease(
        cluster: "lab", holder: LeaseHolder(id: "old", pid: 1, hostname: "far-a"), duration: 10)
      clock.advance(11)
      let second = try await new.acquireLease(
        cluster: "lab", holder: LeaseHolder(id: "new", pid: 2, hostname: "far-b"), duration: 10)
      #expect(second.epoch == first.epoch + 1)
      #expect(second.tookOverFrom?.id == "old")

      // Straight into the table, bypassing every check in Ballast: the trigger refuses it.
      await #expect(throws: (any Error).self) {
        try await old.executeForTest(
          """
          INSERT INTO plans (created_at, trigger_kind, policy, cluster, dry_run, imbalance_before,
            imbalance_predicted_after, predicted_makespan_seconds, hosts_before, hosts_predicted_after, rejected,
            lease_epoch)
          VALUES (1, 'balance', 'p', 'lab', 0, 0.3, 0.1, 0, '[]', '[]', '[]', ?)
          """, first.epoch)
      }
      // Through the journal, under the old lease's fence (its process does not know yet).
      let fence = LeaseFence(cluster: "lab", epoch: first.epoch, requested: .now, seconds: 3600)
      let refusal = await #expect(throws: JournalFenced.self) {
        try await LeaseFence.$current.withValue(fence) {
          _ = try await old.recordPlan(plan([liveMove("web1", from: "h1", to: "h2")]), dryRun: false, at: 1)
        }
      }
      #expect(refusal?.epoch == first.epoch)
      #expect(refusal?.detail.contains("ballast-fenced") == true)
      #expect(fence.revocation != nil)
      // Under the current lease the same write goes through.
      let current = LeaseFence(cluster: "lab", epoch: second.epoch, requested: .now, seconds: 3600)
      let id = try await LeaseFence.$current.withValue(current) {
        try await new.recordPlan(plan([liveMove("web1", from: "h1", to: "h2")]), dryRun: false, at: 2)
      }
      #expect(try await new.plans().map(\.id) == [id])
      // A released lease fences its writes too, and its epoch is never given out again.
      try await new.releaseLease(second)
      await #expect(throws: JournalFenced.self) {
        try await LeaseFence.$current.withValue(
          LeaseFence(cluster: "lab", epoch: second.epoch, requested: .now, seconds: 3600)
        ) { try await new.planFinished(plan: id, measuredImbalanceAfter: 0.1, at: 3) }
      }
      let third = try await old.acquireLease(
        cluster: "lab", holder: LeaseHolder(id: "old", pid: 1, hostname: "far-a"), duration: 10)
      #expect(third.epoch == second.epoch + 1)
    }
  }

  @Test("a write sent again with its key is applied once", arguments: Backend.allCases)
  func keyedWriteAppliedOnce(backend: Backend) async throws {
    try await withStore(backend) { store, _ in
      let key = WriteKey()
      var ids: [Int64?] = []
      for _ in 0..<2 {
        ids.append(
          try await store.write("insert a sample", key: key) { tx in
            try tx.execute(
              "INSERT INTO host_samples (cluster, host, at, cpu, memory) VALUES ('lab', 'h1', 5, 0.5, 0.4)")
            return 42
          })
      }
      #expect(ids == [42, 42])
      #expect(try await store.hostSamples(host: "h1").count == 1)
    }
  }

  @Test("the keys of writes are forgotten a day later, when host samples are pruned", arguments: Backend.allCases)
  func writeKeysPruned(backend: Backend) async throws {
    let clock = ManualClock()
    try await withStore(backend, clock: clock.historyClock) { store, _ in
      try await store.recordHostSamples([HostSample(cluster: "lab", host: "h1", at: clock.now, cpu: 0.1, memory: 0.1)])
      let keys = "SELECT count(*) AS n FROM write_keys"
      #expect(try await store.rowsForTest(keys).first?.decode(Int.self, forColumn: "n") == 1)
      clock.advance(3600)
      try await store.pruneHostSamples(before: 0)
      #expect(try await store.rowsForTest(keys).first?.decode(Int.self, forColumn: "n") == 1)
      clock.advance(HistoryStore.writeKeyRetention)
      try await store.pruneHostSamples(before: 0)
      #expect(try await store.rowsForTest(keys).first?.decode(Int.self, forColumn: "n") == 0)
      #expect(try await store.hostSamples(host: "h1").count == 1)
    }
  }

  @Test("a server nobody answers on is reported with the URL and what to check")
  func unreachable() async throws {
    let url = try PostgresURL("postgresql://ballast@127.0.0.1:1/nothing?connect_timeout=2", environment: [:])
    let error = try await #require(throws: HistoryError.self) { try await HistoryStore.open(.postgres(url)) }
    #expect(error.path == "postgresql://ballast@127.0.0.1:1/nothing")
    #expect(error.message.contains("cannot connect"))
    #expect(error.hint?.contains("pg_hba.conf") == true)
  }

  @Test("a server that asks for a password gets it from PGPASSWORD or the password file, and says what to do without")
  func passwordFromTheEnvironment() async throws {
    try await PostgresTestServer.withDatabase { server, name in
      try await server.makePasswordUser(password: "s3cret:pass", database: name)
      let url = try PostgresURL(
        "postgresql://\(PostgresTestServer.passwordUser)@127.0.0.1:\(server.port)/\(name)?sslmode=disable",
        environment: [:])
      let quiet = HistoryStore.quietLogger

      let refused = try await #require(throws: HistoryError.self) {
        _ = try await PostgresHistoryDatabase.open(url, clock: nil, access: .readWrite, logger: quiet, environment: [:])
      }
      #expect(
        refused.message.contains("asks user \(PostgresTestServer.passwordUser) for a password and none was given"),
        "\(refused)")
      #expect(refused.hint?.contains("PGPASSWORD or ~/.pgpass") == true)
      let wrong = try await #require(throws: HistoryError.self) {
        _ = try await PostgresHistoryDatabase.open(
          url, clock: nil, access: .readWrite, logger: quiet, environment: ["PGPASSWORD": "guess"])
      }
      #expect(wrong.message.contains("refused user \(PostgresTestServer.passwordUser)"), "\(wrong)")
      #expect(wrong.hint?.contains("PGPASSWORD or ~/.pgpass") == true)
      #expect(!wrong.description.contains("guess"))

      let fromVariable = try await PostgresHistoryDatabase.open(
        url, clock: nil, access: .readWrite, logger: quiet, environment: ["PGPASSWORD": "s3cret:pass"])
      #expect(
        try await HistoryStore(database: fromVariable, logger: quiet).appliedMigrations()
          == HistorySchema.migrationNames)
      await fromVariable.close()

      try await withTemporaryDirectory { directory in
        let file = directory.appendingPathComponent("pgpass").path
        try "127.0.0.1:\(server.port):\(name):\(PostgresTestServer.passwordUser):s3cret\\:pass\n".write(
          toFile: file, atomically: false, encoding: .utf8)
        chmod(file, 0o600)
        let fromFile = try await PostgresHistoryDatabase.open(
          url, clock: nil, access: .readOnly, logger: quiet, environment: ["PGPASSFILE": file])
        #expect(try await HistoryStore(database: fromFile, logger: quiet).plans().isEmpty)
        await fromFile.close()
      }
    }
  }

  @Test("sslmode is honoured: TLS when asked, the server's certificate checked against sslrootcert with verify-full")
  func sslModes() async throws {
    try await PostgresTestServer.withDatabase { server, name in
      let base = "postgresql://\(PostgresTestServer.user)@127.0.0.1:\(server.port)/\(name)"
      func encrypted(_ query: String) async throws -> Bool {
        let store = try await HistoryStore.open(.postgres(try PostgresURL(base + query, environment: [:])))
        defer { Task { await store.close() } }
        let row = try await store.rowsForTest("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first
        return try row?.decode(Bool.self, forColumn: "ssl") == true
      }
      #expect(try await encrypted("?sslmode=disable") == false)
      #expect(try await encrypted("?sslmode=prefer") == true)
      #expect(try await encrypted("?sslmode=require") == true)
      #expect(try await encrypted("?sslmode=verify-full&sslrootcert=\(server.certificateAuthority)") == true)
      #expect(try await encrypted("?sslmode=verify-ca&sslrootcert=\(server.certificateAuthority)") == true)
      // Without the test's authority the certificate is not trusted.
      let untrusted = try PostgresURL(
        base + "?sslmode=verify-full&connect_timeout=5", environment: ["HOME": "/nonexistent"])
      await #expect(throws: HistoryError.self) { try await HistoryStore.open(.postgres(untrusted)) }
    }
  }

  @Test("a database that does not exist is reported with how to create it")
  func missingDatabase() async throws {
    let server = try await PostgresTestServer.shared()
    let url = try PostgresURL(server.url(database: "no_such_database"), environment: [:])
    let error = try await #require(throws: HistoryError.self) { try await HistoryStore.open(.postgres(url)) }
    #expect(error.message.contains("there is no database no_such_database"))
    #expect(error.hint?.contains("createdb") == true)
  }
}

@Suite("PostgreSQL URLs and passwords")
struct PostgresURLTests {
  @Test("a URL gives user, host, port, database and sslmode, with libpq's defaults")
  func parsing() throws {
    let full = try PostgresURL(
      "postgresql://ops@db.example:6543/ballast?sslmode=verify-full&sslrootcert=/etc/ca.pem", environment: [:])
    #expect(full.user == "ops")
    #expect(full.host == "db.example")
    #expect(full.port == 6543)
    #expect(full.database == "ballast")
    #expect(full.sslMode == .verifyFull)
    #expect(full.sslRootCertificate == "/etc/ca.pem")
    #expect(full.description == "postgresql://ops@db.example:6543/ballast?sslmode=verify-full")

    let short = try PostgresURL("postgres:///", environment: ["USER": "alice"])
    #expect(short.user == "alice")
    #expect(short.host == nil)
    #expect(short.socketDirectory == "/var/run/postgresql")
    #expect(short.port == 5432)
    #expect(short.database == "alice")
    #expect(short.sslMode == .prefer)
    #expect(try PostgresURL("postgresql://a@h/d", environment: ["PGSSLMODE": "require"]).sslMode == .require)

    #expect(try HistoryTarget("postgresql://a@h/d", environment: [:]).backend == .postgres)
    #expect(try HistoryTarget("history/ballast.sqlite", environment: [:]) == .sqlite(path: "history/ballast.sqlite"))
  }

  @Test(
    "a URL that cannot be used is refused saying why, never showing a password",
    arguments: [
      ("postgresql://ops:s3cret@db/ballast", "holds a password"),
      ("postgresql://ops@db/ballast?sslmode=sometimes", "unknown sslmode sometimes"),
      ("postgresql://ops@db/ballast?colour=blue", "unknown parameter colour"),
      ("postgresql://ops@db:70000/ballast", "port"),
      ("postgresql://ops@db/a/b", "holds a /"),
    ])
  func refused(text: String, reason: String) throws {
    let error = try #require(throws: HistoryError.self) { try PostgresURL(text, environment: ["USER": "x"]) }
    #expect(error.description.contains(reason))
    #expect(!error.description.contains("s3cret"))
  }

  @Test("the password comes from PGPASSWORD, else the first matching line of a private password file")
  func passwords() throws {
    let url = try PostgresURL("postgresql://ops@db.example:5432/ballast", environment: [:])
    #expect(PostgresPassword.find(for: url, environment: ["PGPASSWORD": "from-env"]) == "from-env")
    let file = """
      # host:port:database:user:password
      other:5432:ballast:ops:wrong
      db.example:*:ballast:ops:pa\\:ss
      *:*:*:*:fallback
      """
    #expect(PostgresPassword.lookUp(url, in: file) == "pa:ss")
    let socket = try PostgresURL("postgresql://ops@/ballast", environment: [:])
    #expect(PostgresPassword.lookUp(socket, in: "localhost:5432:ballast:ops:local\n") == "local")

    try withTemporaryFile(file) { path in
      chmod(path, 0o600)
      #expect(PostgresPassword.find(for: url, environment: ["PGPASSFILE": path]) == "pa:ss")
      chmod(path, 0o644)  // readable by others: ignored, as libpq does
      #expect(PostgresPassword.find(for: url, environment: ["PGPASSFILE": path]) == nil)
    }
  }
}

private func withTemporaryFile(_ text: String, _ body: (String) throws -> Void) throws {
  let folder = try makeTemporaryFolder(prefix: "ballast-pgpass")
  defer { try? FileManager.default.removeItem(at: folder) }
  let path = folder.appendingPathComponent("pgpass").path
  try text.write(toFile: path, atomically: false, encoding: .utf8)
  try body(path)
}
