import BallastEngine
import BallastHistory
import BallastModel
import BallastTestSupport
import Foundation
import Testing

/// `drain`, `activate`, `plan --execute` and `status` on a copy of clusters/demo.yaml.
@Suite("drain, activate, plan --execute (end to end)")
struct DrainCommandTests {
  /// A folder holding a copy of the demo cluster; remove it after.
  static func demo() throws -> URL {
    let folder = try BallastProcess.temporaryFolder()
    try FileManager.default.copyItem(
      at: BallastProcess.repositoryRoot.appendingPathComponent("clusters/demo.yaml"),
      to: folder.appendingPathComponent("demo.yaml"))
    return folder
  }

  static func run(_ arguments: [String], in folder: URL) async throws -> BallastProcess.Result {
    try await BallastProcess.running(arguments + ["--cluster", "demo.yaml", "--db", "h.sqlite"], in: folder)
  }

  @Test func drainSaveActivateAndPlanExecute() async throws {
    let folder = try Self.demo()
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("demo.yaml").path
    let onH1 = try ClusterFile.load(path: file).vms.filter { $0.host == "h1" }.map(\.name)
    #expect(!onH1.isEmpty)

    let drain = try await Self.run(["drain", "h1", "--save", "--reason", "firmware update", "--json"], in: folder)
    #expect(drain.status == 0, "\(drain.stderr)")
    let lines = try ProcessWorkspace.jsonLines(drain.stdout)
    #expect(lines.first?["event"] as? String == "maintenance" && lines.first?["previous"] as? String == "active")
    let summary = try #require(lines.last)
    #expect(summary["event"] as? String == "summary")
    #expect(summary["done"] as? Int == onH1.count)
    #expect(summary["empty"] as? Bool == true && summary["saved"] as? Bool == true)
    #expect((summary["left"] as? [Any])?.isEmpty == true)

    // The saved file is valid, has h1 in maintenance and empty; status shows it.
    let saved = try ClusterFile.load(path: file)
    #expect(saved.host(named: "h1")?.state == .maintenance)
    #expect(saved.vms.filter { $0.host == "h1" }.isEmpty)
    #expect(saved.vms.count == 31)
    let status = try await BallastProcess.running(["status", "--cluster", "demo.yaml", "--json"], in: folder)
    let hosts = try #require(
      (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["hosts"]
        as? [[String: Any]])
    #expect(hosts.first { $0["name"] as? String == "h1" }?["state"] as? String == "maintenance")

    // The history: who and why, a drain plan whose moves all completed.
    let store = try HistoryStore(path: folder.appendingPathComponent("h.sqlite").path)
    let change = try #require(try await store.hostStateChanges(cluster: "demo").first)
    #expect(change.host == "h1" && change.maintenance && change.reason == "firmware update" && !change.by.isEmpty)
    let plans = try await store.plans(cluster: "demo", since: nil, includeDryRuns: true, limit: 10)
    #expect(plans.map(\.trigger) == [.drain] && plans.first?.dryRun == false)
    let moves = try await store.migrations()
    #expect(Set(moves.map(\.vm)) == Set(onH1) && moves.allSatisfy { $0.outcome == .completed && $0.from == "h1" })

    // Nothing is placed on the host in maintenance: not a balance plan, not a manual migrate.
    let balance = try await Self.run(["plan", "--execute", "--json"], in: folder)
    #expect(balance.status == 0, "\(balance.stderr)")
    let events = try ProcessWorkspace.jsonLines(balance.stdout)
    #expect(events.first?["event"] as? String == "plan")
    #expect(!events.contains { $0["to"] as? String == "h1" })
    let manual = try await Self.run(["migrate", "web-3", "--to", "h1", "--json"], in: folder)
    #expect(manual.status == 1)
    #expect(manual.stdout.contains("maintenance"))

    // activate takes it out (recorded), and the next balance plan uses h1 again.
    let activate = try await Self.run(["activate", "h1", "--save", "--json"], in: folder)
    #expect(activate.status == 0, "\(activate.stderr)")
    #expect(activate.stdout.contains("\"previous\":\"maintenance\"") && activate.stdout.contains("\"recorded\":true"))
    #expect(try ClusterFile.load(path: file).host(named: "h1")?.state == .active)
    #expect(try await store.hostStateChanges(cluster: "demo").map(\.maintenance) == [true, false])
    let rebalance = try await Self.run(["plan", "--execute", "--save", "--json"], in: folder)
    #expect(rebalance.status == 0, "\(rebalance.stderr)")
    let rebalanced = try ProcessWorkspace.jsonLines(rebalance.stdout)
    let toH1 = rebalanced.filter { $0["event"] as? String == "move" && $0["phase"] as? String == "ended" }
      .filter { $0["to"] as? String == "h1" && $0["outcome"] as? String == "completed" }
    #expect(!toH1.isEmpty, "an empty active host should take VMs")
    #expect(rebalanced.last?["saved"] as? Bool == true)
    let final = try ClusterFile.load(path: file)
    #expect(final.vms.filter { $0.host == "h1" }.count == toH1.count)
    #expect(
      try await store.plans(cluster: "demo", since: nil, includeDryRuns: true, limit: 10).map(\.trigger).contains(
        .balance))
  }

  @Test func maintenanceFromADrainWithoutSaveLivesInTheStateAndTheHistory() async throws {
    let folder = try Self.demo()
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("demo.yaml").path
    let before = try String(contentsOfFile: file, encoding: .utf8)
    let drain = try await Self.run(["drain", "h2", "--state", "state.json"], in: folder)
    #expect(drain.status == 0, "\(drain.stderr)")
    let lines = try ProcessWorkspace.jsonLines(drain.stdout)  // not on a terminal: JSON lines
    #expect(lines.first?["event"] as? String == "maintenance")
    #expect(lines.last?["event"] as? String == "summary" && lines.last?["empty"] as? Bool == true)
    #expect(try String(contentsOfFile: file, encoding: .utf8) == before)  // no --save

    let status = try await BallastProcess.running(
      ["status", "--cluster", "demo.yaml", "--state", "state.json"], in: folder)
    #expect(status.stdout.contains("h2    maintenance"), "\(status.stdout)")
    #expect(status.stdout.contains("(1 in maintenance)"))

    // Without --state the cluster file says h2 is active, but the history says it is in maintenance.
    let dryRun = try await Self.run(["plan", "--execute", "--json"], in: folder)
    #expect(!(try ProcessWorkspace.jsonLines(dryRun.stdout)).contains { $0["to"] as? String == "h2" })
    let again = try await Self.run(["drain", "h2", "--state", "state.json", "--json"], in: folder)
    #expect(again.status == 0)
    #expect(again.stdout.contains("\"previous\":\"maintenance\"") && again.stdout.contains("\"empty\":true"))
  }

  @Test func aDrainThatDoesNotFitIsRefusedWithEveryVMAndMovesNothing() async throws {
    let folder = try BallastProcess.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    try """
    version: 1
    name: tight
    datastores: [{name: san, shared: true}]
    hosts:
      - {name: a, cores: 8, memory: 32GiB, cpuModel: Cascadelake-Server, migrationBandwidth: 10Gbit/s, datastores: [san]}
      - {name: b, cores: 8, memory: 32GiB, cpuModel: Cascadelake-Server, migrationBandwidth: 10Gbit/s, datastores: [san]}
    vms:
      - {name: big-1, host: a, state: running, vcpus: 2, memory: 24GiB, cpuModel: Skylake-Server,
         disks: [{datastore: san, size: 10GiB}], usage: {cpu: 0.5, memory: 0.5}}
      - {name: big-2, host: a, state: running, vcpus: 2, memory: 4GiB, cpuModel: Skylake-Server,
         disks: [{datastore: san, size: 10GiB}], usage: {cpu: 0.5, memory: 0.5}}
      - {name: big-3, host: b, state: running, vcpus: 2, memory: 24GiB, cpuModel: Skylake-Server,
         disks: [{datastore: san, size: 10GiB}], usage: {cpu: 0.5, memory: 0.5}}
    """.write(to: folder.appendingPathComponent("tight.yaml"), atomically: true, encoding: .utf8)
    let result = try await BallastProcess.running(
      ["drain", "a", "--cluster", "tight.yaml", "--db", "h.sqlite", "--state", "state.json"], in: folder)
    #expect(result.status == 1)
    let refused = try #require(try ProcessWorkspace.jsonLines(result.stdout).last)
    #expect(refused["event"] as? String == "refused" && refused["host"] as? String == "a")
    #expect((refused["refusal"] as? String)?.contains("big-1") == true, "\(result.stdout)")
    let rejected = try #require(refused["rejected"] as? [[String: Any]])
    #expect(rejected.contains { $0["vm"] as? String == "big-1" && $0["host"] as? String == "b" })
    let store = try HistoryStore(path: folder.appendingPathComponent("h.sqlite").path)
    #expect(try await store.migrations().isEmpty)
    let plan = try #require(try await store.plans(cluster: "tight", since: nil, includeDryRuns: true, limit: 5).first)
    #expect(plan.refusal != nil && !plan.dryRun && plan.trigger == .drain)
    let state = try #require(try FileStateStore(path: folder.appendingPathComponent("state.json").path).load())
    #expect(state.cluster.vms.filter { $0.host == "a" }.count == 2)
  }

  @Test func aDryRunIsRecordedAsSuchAndChangesNothing() async throws {
    let folder = try Self.demo()
    defer { try? FileManager.default.removeItem(at: folder) }
    let result = try await Self.run(["drain", "h1", "--dry-run", "--json", "--no-timing"], in: folder)
    #expect(result.status == 0, "\(result.stderr)")
    let store = try HistoryStore(path: folder.appendingPathComponent("h.sqlite").path)
    let plans = try await store.plans(cluster: "demo", since: nil, includeDryRuns: true, limit: 5)
    #expect(plans.count == 1 && plans.first?.dryRun == true && plans.first?.trigger == .drain)
    #expect(try await store.migrations().isEmpty)
    #expect(try await store.migrations(MigrationFilter(includePlanned: true)).count == plans.first?.moves)
    #expect(try await store.hostStateChanges().isEmpty)

    let migrate = try await Self.run(["migrate", "web-1", "--to", "h4", "--dry-run", "--json"], in: folder)
    #expect(migrate.status == 0, "\(migrate.stderr)")
    let manual = try await store.plans(cluster: "demo", since: nil, includeDryRuns: true, limit: 5)
    #expect(manual.map(\.trigger) == [.manual, .drain] && manual.allSatisfy(\.dryRun))
    #expect(try await store.migrations().isEmpty)
  }
}
