import BallastEngine
import BallastModel
import Foundation
import Testing

/// Issue 11, classes 1, 5 and 7 for simulated state files: a tampered or foreign state is
/// refused with why, numbers out of range are refused, and the file is owner-only and
/// replaced through an exclusive temporary file.
@Suite("Simulated state files")
struct StateFileTests {
  static let cluster = Fixture.cluster(
    hostCount: 3, vms: [Fixture.vm("a", on: "h0"), Fixture.vm("b", on: "h1"), Fixture.vm("c", on: "h2")])

  /// One way to tamper with a saved state, and what the refusal must say.
  struct Tampering: Sendable, CustomTestStringConvertible {
    var name: String
    var reason: String
    var edit: @Sendable (inout SimulatedState) -> Void
    var testDescription: String { name }
  }

  static let tamperings: [Tampering] = [
    Tampering(name: "VM running on two hosts", reason: "runs on h0 and h1") { state in
      state.instances["a"]?.append(
        SimulatedInstance(host: "h1", state: .running, owner: false, checksum: ""))
    },
    Tampering(name: "missing VM", reason: "VM 'c' of the cluster file is missing") { state in
      state.cluster.vms.removeAll { $0.name == "c" }
      state.instances["c"] = nil
    },
    Tampering(name: "VM with no instance", reason: "VM c is on no host") { state in state.instances["c"] = [] },
    Tampering(name: "VM on an unknown host", reason: "on unknown host 'h9'") { state in
      state.cluster.vms[0].host = "h9"
      state.instances["a"] = [SimulatedInstance(host: "h9", state: .running, owner: true, checksum: "")]
    },
    Tampering(name: "another cluster", reason: "made for cluster 'other'") { state in state.cluster.name = "other" },
    Tampering(name: "a bigger VM", reason: "VM a has another size") { state in state.cluster.vms[0].vcpus = 4_000 },
    Tampering(name: "a non-finite clock", reason: "clock time") { state in state.clockTime = 1e308 },
    Tampering(name: "a negative elapsed time", reason: "elapsed time") { state in state.elapsed = -5 },
    Tampering(name: "a reservation counter about to overflow", reason: "next reservation number") { state in
      state.nextReservation = .max
    },
  ]

  @Test(arguments: tamperings)
  func aTamperedStateIsRefusedWithWhy(tampering: Tampering) throws {
    let directory = try PersistenceTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = FileStateStore(path: directory.appendingPathComponent("state.json").path)
    var state = SimulatedState(cluster: Self.cluster)
    state.clockTime = 1_767_225_600
    tampering.edit(&state)
    try store.save(state)
    #expect {
      _ = try SimulatedDriver(resumingFrom: store, expecting: Self.cluster)
    } throws: { error in
      "\(error)".contains(tampering.reason) && "\(error)".contains("does not match cluster")
    }
  }

  @Test func anUntouchedStateResumes() async throws {
    let directory = try PersistenceTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = FileStateStore(path: directory.appendingPathComponent("state.json").path)
    _ = try SimulatedDriver(cluster: Self.cluster, store: store)
    let resumed = try SimulatedDriver(resumingFrom: store, expecting: Self.cluster)
    #expect(try await resumed.inventory().vms.map(\.host) == ["h0", "h1", "h2"])
  }

  @Test func theStateFileIsOwnerOnlyAndNeverWrittenThroughALink() throws {
    let directory = try PersistenceTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("state.json").path
    let victim = directory.appendingPathComponent("victim").path
    try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
    // The old temporary name was `<path>.tmp-<pid>`.
    try FileManager.default.createSymbolicLink(atPath: path + ".tmp-\(getpid())", withDestinationPath: victim)
    let previous = umask(0)
    defer { umask(previous) }
    try FileStateStore(path: path).save(SimulatedState(cluster: Self.cluster))
    let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
  }
}
