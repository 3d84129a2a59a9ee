import Foundation
import Synchronization

/// A PostgreSQL server of the tests' own: a cluster made with `initdb` in a temporary folder,
/// its `postgres` process started by this test process (its process id known), listening on
/// loopback only, on a free port, with a UNIX socket in its folder.
///
/// ``shared()`` is one server for the whole test process, started when a test first asks for it
/// and stopped (by process id) when the process exits; tests that restart a server start one of
/// their own with ``start(fsync:)`` and ``remove()`` it. Every server started is also stopped at
/// exit if its test did not, and a server a crashed test process left is stopped by the next
/// test process (``removeStale()``). Tests make their own databases (``makeDatabase()``) and
/// drop them (``withDatabase(_:)``). Everything that waits for a program runs on a thread of
/// its own, never on the few threads every test's async code shares.
///
/// Needs Debian's `postgresql` (15; `.ci/run` installs it; its `ssl-cert` brings `openssl`, which
/// makes the server's TLS certificate). As root the server runs as the
/// `postgres` user the package makes (PostgreSQL refuses to run as root).
public final class PostgresTestServer: Sendable {
  /// Where Debian's `postgresql-15` puts its programs.
  public static let binaries = "/usr/lib/postgresql/15/bin"

  /// Whether the PostgreSQL programs are installed.
  public static var isInstalled: Bool {
    ["initdb", "postgres", "psql"].allSatisfy {
      FileManager.default.isExecutableFile(atPath: "\(binaries)/\($0)")
    }
  }

  /// The database superuser of the test cluster (no password: trust on loopback and the socket).
  public static let user = "ballast"

  /// The folder holding the cluster (`data/`) and the socket.
  public let folder: URL
  /// The TCP port on 127.0.0.1.
  public let port: Int
  private let fsync: Bool
  private let server: Mutex<Process?>

  private init(folder: URL, port: Int, fsync: Bool) {
    self.folder = folder
    self.port = port
    self.fsync = fsync
    server = Mutex(nil)
  }

  /// One server for the test process, started at first use (on a thread of its own: starting
  /// takes seconds, which the few threads every test's async code shares must not wait out).
  /// - Throws: ``PostgresTestServerError`` when it cannot be started (saying why).
  public static func shared() async throws -> PostgresTestServer {
    try await offThePool { try sharedServer.get() }
  }

  /// A new database on ``shared()`` for `body`, dropped when `body` ends (also when it throws).
  public static func withDatabase<T>(_ body: (PostgresTestServer, String) async throws -> T) async throws -> T {
    let server = try await shared()
    let name = try await server.makeDatabase()
    do {
      let result = try await body(server, name)
      await server.dropDatabase(name)
      return result
    } catch {
      await server.dropDatabase(name)
      throw error
    }
  }

  private static let sharedServer = Result<PostgresTestServer, any Error>(catching: {
    removeStale()
    return try startNow(fsync: false)
  })

  /// Makes a cluster in a new temporary folder and starts its server (off the cooperative
  /// pool); waits until it accepts connections. `fsync: false` trades durability across a
  /// machine crash (not a restart of the server) for speed.
  public static func start(fsync: Bool = false) async throws -> PostgresTestServer {
    try await offThePool { try startNow(fsync: fsync) }
  }

  private static func startNow(fsync: Bool) throws -> PostgresTestServer {
    guard isInstalled else {
      throw PostgresTestServerError(
        "PostgreSQL 15 is not installed (\(binaries)/initdb missing): apt-get install postgresql")
    }
    let folder = try makeTemporaryFolder(prefix: folderPrefix)
    do {
      try "\(getpid())\n".write(to: folder.appendingPathComponent("owner.pid"), atomically: true, encoding: .utf8)
      if geteuid() == 0 { try giveToPostgresUser(folder) }
      let data = folder.appendingPathComponent("data").path
      try runTool(
        "initdb", ["-D", data, "-U", user, "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C"])
      try requirePasswordOfPasswordUser(data)
      try makeCertificates(folder: folder, data: data)
      let server = PostgresTestServer(folder: folder, port: try freePort(), fsync: fsync)
      try server.launch()
      return server
    } catch {
      try? FileManager.default.removeItem(at: folder)
      throw error
    }
  }

  /// A role that must give its password (SCRAM) over TCP, for tests of where passwords come
  /// from; ``makePasswordUser(password:)`` creates it. Every other role is trusted.
  public static let passwordUser = "ballast_password"

  /// Creates (or gives a new password to) ``passwordUser``, allowed to create tables in `database`.
  public func makePasswordUser(password: String, database: String) async throws {
    try await offThePool { try self.makePasswordUserNow(password: password, database: database) }
  }

  private func makePasswordUserNow(password: String, database: String) throws {
    let quoted = password.replacingOccurrences(of: "'", with: "''")
    try psql(
      "DO $$ BEGIN CREATE ROLE \(Self.passwordUser) LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    try psql("ALTER ROLE \(Self.passwordUser) PASSWORD '\(quoted)'")
    try psql("GRANT ALL ON DATABASE \(database) TO \(Self.passwordUser)")
    try psql("GRANT ALL ON SCHEMA public TO \(Self.passwordUser)", database: database)
  }

  /// The certificate authority that signed the server's certificate (for `sslrootcert`).
  public var certificateAuthority: String { folder.appendingPathComponent("ca.crt").path }

  /// A certificate authority of the test's own, and a server certificate it signed for
  /// 127.0.0.1 and localhost (in the data folder, the key readable by the server only).
  private static func makeCertificates(folder: URL, data: String) throws {
    let dir = folder.path
    let names = "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    try names.write(toFile: dir + "/server.ext", atomically: false, encoding: .utf8)
    try openssl([
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/ca.key", "-out", dir + "/ca.crt", "-days",
      "2", "-subj", "/CN=ballast test authority",
    ])
    try openssl([
      "req", "-newkey", "rsa:2048", "-nodes", "-keyout", data + "/server.key", "-out", dir + "/server.csr", "-subj",
      "/CN=127.0.0.1",
    ])
    try openssl([
      "x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.crt", "-CAkey", dir + "/ca.key",
      "-CAcreateserial", "-out", data + "/server.crt", "-days", "2", "-extfile", dir + "/server.ext",
    ])
    chmod(data + "/server.key", 0o600)
    if geteuid() == 0, let user = getpwnam("postgres") {
      for file in ["server.key", "server.crt"] { chown(data + "/" + file, user.pointee.pw_uid, user.pointee.pw_gid) }
    }
  }

  private static func openssl(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw PostgresTestServerError("openssl \(arguments.first ?? "") failed: \(text)")
    }
  }

  /// `pg_hba.conf` with a first line that asks ``passwordUser`` for its password over TCP.
  private static func requirePasswordOfPasswordUser(_ data: String) throws {
    let path = data + "/pg_hba.conf"
    let rules = try String(contentsOfFile: path, encoding: .utf8)
    try ("host all \(passwordUser) 127.0.0.1/32 scram-sha-256\n" + rules).write(
      toFile: path, atomically: false, encoding: .utf8)
  }

  /// A `postgresql://` URL of database `name` on this server (TCP on loopback, no TLS).
  public func url(database name: String) -> String {
    "postgresql://\(Self.user)@127.0.0.1:\(port)/\(name)?sslmode=disable"
  }

  /// Creates a new, empty database with a unique name; returns its name.
  public func makeDatabase() async throws -> String {
    let name = "ballast_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    try await sql("CREATE DATABASE \(name)")
    return name
  }

  /// Drops database `name`, ending the sessions still connected to it.
  public func dropDatabase(_ name: String) async {
    _ = try? await sql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
  }

  /// Runs `query` (one statement) as the superuser in `database` with psql, on a thread of its
  /// own; returns what it printed (unaligned, tuples only), trimmed.
  @discardableResult
  public func sql(_ query: String, database: String = "postgres") async throws -> String {
    try await offThePool { try self.psql(query, database: database).trimmingCharacters(in: .whitespacesAndNewlines) }
  }

  /// ``sql(_:database:)`` on the calling thread (the server's own threads).
  @discardableResult
  private func psql(_ sql: String, database: String = "postgres") throws -> String {
    try Self.runTool(
      "psql",
      [
        "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user,
        "-d", database, "-c", sql,
      ],
      asPostgres: false)
  }

  /// Runs `query` in `database` every 50 ms, on a thread of its own, until it prints something
  /// other than nothing, `f` or `0`; returns what it printed, or `nil` after `seconds`.
  public func poll(_ query: String, database: String, within seconds: Double) async -> String? {
    await withCheckedContinuation { continuation in
      Thread {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
          if let text = try? self.psql(query, database: database).trimmingCharacters(in: .whitespacesAndNewlines),
            !["", "f", "0"].contains(text)
          {
            continuation.resume(returning: text)
            return
          }
          usleep(50_000)
        }
        continuation.resume(returning: nil)
      }.start()
    }
  }

  /// The server's process id, while it runs.
  public var processID: Int32? { server.withLock { $0.map(\.processIdentifier) } }

  /// Stops the server (a fast shutdown: SIGINT to its process, as `pg_ctl stop -m fast`) and
  /// waits for it to exit (off the cooperative pool); then ``restart()`` starts it again.
  public func stop() async {
    await offThePool { self.stopNow() }
  }

  private func stopNow() {
    let running = server.withLock { server -> Process? in
      defer { server = nil }
      return server
    }
    guard let running else { return }
    _ = Self.running.withLock { $0.remove(running.processIdentifier) }
    kill(running.processIdentifier, SIGINT)
    running.waitUntilExit()
  }

  /// Starts the server again on the same port and folder after ``stop()``.
  public func restart() async throws { try await offThePool { try self.launch() } }

  /// Stops the server and removes its folder.
  public func remove() async {
    await stop()
    try? FileManager.default.removeItem(at: folder)
  }

  // MARK: Running

  private func launch() throws {
    let data = folder.appendingPathComponent("data").path
    let process = Process()
    var arguments = [
      "-D", data, "-p", "\(port)", "-k", folder.path, "-c", "listen_addresses=127.0.0.1",
      "-c", "max_connections=200", "-c", "fsync=\(fsync ? "on" : "off")",
      "-c", "logging_collector=off", "-c", "log_min_messages=warning",
      // TLS for clients that ask (sslmode), with a certificate for 127.0.0.1 signed by the
      // test's own authority (``certificateAuthority``).
      "-c", "ssl=on", "-c", "ssl_cert_file=\(data)/server.crt", "-c", "ssl_key_file=\(data)/server.key",
    ]
    if !fsync { arguments += ["-c", "synchronous_commit=on", "-c", "full_page_writes=off"] }
    (process.executableURL, process.arguments) = Self.command("postgres", arguments)
    let log = folder.appendingPathComponent("server.log")
    if !FileManager.default.fileExists(atPath: log.path) {
      _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    }
    let handle = try FileHandle(forWritingTo: log)
    handle.seekToEndOfFile()
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    Self.running.withLock { _ = $0.insert(process.processIdentifier) }
    Self.registerExitHandler()
    server.withLock { $0 = process }
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
      if !process.isRunning {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw PostgresTestServerError("postgres exited at start: \(text.suffix(2000))")
      }
      if (try? psql("SELECT 1")) != nil { return }
      usleep(100_000)
    }
    stopNow()
    throw PostgresTestServerError("postgres did not accept connections within 60 s; see \(log.path)")
  }

  /// `tool arguments`, run as the `postgres` user when this process is root.
  private static func command(_ tool: String, _ arguments: [String], asPostgres: Bool = true) -> (URL, [String]) {
    let path = "\(binaries)/\(tool)"
    if asPostgres, geteuid() == 0 {
      return (
        URL(fileURLWithPath: "/usr/bin/setpriv"),
        ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", path] + arguments
      )
    }
    return (URL(fileURLWithPath: path), arguments)
  }

  /// Runs a PostgreSQL program and waits; returns its output.
  /// - Throws: ``PostgresTestServerError`` with what it printed when it fails.
  @discardableResult
  private static func runTool(_ tool: String, _ arguments: [String], asPostgres: Bool = true) throws -> String {
    let process = Process()
    (process.executableURL, process.arguments) = command(tool, arguments, asPostgres: asPostgres)
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    process.environment = ["PATH": "/usr/bin:/bin", "LANG": "C", "PGCONNECT_TIMEOUT": "5"]
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw PostgresTestServerError("\(tool) failed (status \(process.terminationStatus)): \(text)")
    }
    return text
  }

  private static func giveToPostgresUser(_ folder: URL) throws {
    guard let user = getpwnam("postgres") else {
      throw PostgresTestServerError("there is no postgres user (Debian's postgresql package makes it)")
    }
    let uid = user.pointee.pw_uid
    let gid = user.pointee.pw_gid
    for path in [folder.path, folder.appendingPathComponent("owner.pid").path] {
      guard chown(path, uid, gid) == 0 else {
        throw PostgresTestServerError("cannot give \(path) to the postgres user: \(String(cString: strerror(errno)))")
      }
    }
    chmod(folder.path, 0o755)
  }

  /// A TCP port on 127.0.0.1 nobody listens on now.
  private static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw PostgresTestServerError("cannot open a socket to find a free port") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
        bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
      }
    }
    guard bound else { throw PostgresTestServerError("cannot bind a socket on 127.0.0.1 to find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  // MARK: Stopping what was started

  private static let folderPrefix = "ballast-postgres"

  /// Process ids of the servers this process started and has not stopped.
  private static let running = Mutex<Set<Int32>>([])
  private static let exitHandlerRegistered = Mutex(false)

  private static func registerExitHandler() {
    let first = exitHandlerRegistered.withLock { registered in
      defer { registered = true }
      return !registered
    }
    guard first else { return }
    atexit {
      let pids = PostgresTestServer.running.withLock { $0 }
      for pid in pids { PostgresTestServer.terminate(pid, signal: SIGQUIT) }
      if let shared = try? PostgresTestServer.sharedServer.get() {
        try? FileManager.default.removeItem(at: shared.folder)
      }
    }
  }

  /// Sends `signal` to `pid` and waits up to 10 s for it to be gone (SIGKILL after). A child
  /// of this process is reaped by Foundation's `Process`, which watches it.
  static func terminate(_ pid: Int32, signal: Int32) {
    guard pid > 0, kill(pid, signal) == 0 else { return }
    for _ in 0..<200 {
      if kill(pid, 0) != 0 { return }
      if let status = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        status.split(separator: " ").dropFirst(2).first == "Z"
      {
        return  // exited, a zombie until its parent reaps it
      }
      usleep(50_000)
    }
    kill(pid, SIGKILL)
  }

  /// Stops servers that test processes which no longer exist left running, by the process id
  /// in their `postmaster.pid`, and removes their folders.
  public static func removeStale() {
    let temporary = FileManager.default.temporaryDirectory
    let folders = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
    for name in folders where name.hasPrefix(folderPrefix) {
      let folder = temporary.appendingPathComponent(name)
      let owner = (try? String(contentsOf: folder.appendingPathComponent("owner.pid"), encoding: .utf8))
        .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
      if let owner, kill(owner, 0) == 0 || errno != ESRCH { continue }
      let postmaster = (try? String(contentsOf: folder.appendingPathComponent("data/postmaster.pid"), encoding: .utf8))
        .flatMap { $0.split(separator: "\n").first.flatMap { Int32($0) } }
      // Only a process that still is a PostgreSQL server (the id may have been given out again).
      if let postmaster,
        let name = try? String(contentsOfFile: "/proc/\(postmaster)/comm", encoding: .utf8),
        name.hasPrefix("postgres")
      {
        terminate(postmaster, signal: SIGQUIT)
      }
      try? FileManager.default.removeItem(at: folder)
    }
  }
}

/// The test PostgreSQL server could not be made or started.
public struct PostgresTestServerError: Error, CustomStringConvertible {
  public var description: String

  public init(_ description: String) { self.description = description }
}

/// Runs `work` on a thread of its own and waits for it without holding a thread of the
/// cooperative pool (which every test's async code shares: two on a two-core machine).
public func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    Thread { continuation.resume(with: Result { try work() }) }.start()
  }
}

/// ``offThePool(_:)`` for work that cannot fail.
public func offThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
  await withCheckedContinuation { continuation in
    Thread { continuation.resume(returning: work()) }.start()
  }
}
