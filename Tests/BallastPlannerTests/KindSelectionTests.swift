import BallastModel
import Testing

@testable import BallastPlanner

/// Every row of docs/ARCHITECTURE.md's kind table: stopped / suspended → cold; running and eligible → live;
/// running and not eligible (storage, CPU, convergence) → the policy's `liveIneligible`.
@Suite("Migration kind selection")
struct KindSelectionTests {
  /// `src` and `dst` share `san`; `dst` is Cascadelake, like `src`.
  static let cluster = Fixture.cluster(
    [
      Fixture.host("src", stores: ["san", "src-local"]), Fixture.host("dst", stores: ["san"]),
    ],
    [
      Fixture.vm("ok", on: "src"),
      Fixture.vm("off", on: "src", state: .stopped, disks: [Disk(datastore: "src-local", size: .gib(40))]),
      Fixture.vm("paused", on: "src", state: .suspended),
      Fixture.vm("local", on: "src", disks: [Disk(datastore: "src-local", size: .gib(40))]),
      Fixture.vm("newer-cpu", on: "src", model: "Icelake-Server"),
      Fixture.vm("hot", on: "src", memoryGiB: 16, dirtyMBps: 4000, workingSetMiB: 8192),
    ])

  static func decide(_ vm: String, _ action: LiveIneligibleAction) throws -> KindVerdict {
    let policy = Fixture.policy {
      $0.liveIneligible = action
      $0.convergence.onNoConvergence = .abort
    }
    let state = PlacementState(cluster: cluster, policy: policy)
    let move = MoveRequest(vm: try #require(state.vmPosition(vm)), destination: try #require(state.hostPosition("dst")))
    var cache = PredictionCache()
    return MigrationKindSelector(policy: policy).decide(move, in: state, cache: &cache)
  }

  @Test(
    "Stopped and suspended VMs move cold, without a shutdown, whatever liveIneligible says",
    arguments: ["off", "paused"], LiveIneligibleAction.allCases)
  func offVMsMoveCold(vm: String, action: LiveIneligibleAction) throws {
    let decision = try #require(try Self.decide(vm, action).decision)
    #expect(decision.kind == .cold)
    #expect(!decision.requiresShutdown)
    #expect(decision.predicted.downtimeMs == 0)
    #expect(decision.whyNotLive == nil)
  }

  @Test(
    "A running VM on shared storage with a compatible CPU that converges moves live",
    arguments: LiveIneligibleAction.allCases)
  func eligibleMovesLive(action: LiveIneligibleAction) throws {
    let decision = try #require(try Self.decide("ok", action).decision)
    #expect(decision.kind == .live)
    #expect(decision.predicted.converges)
    #expect(decision.predicted.downtimeMs <= 300)
  }

  struct IneligibleCase: Sendable, CustomTestStringConvertible {
    let vm: String
    let filter: String
    let reason: String
    var testDescription: String { "\(vm) (\(filter))" }
  }

  static let ineligible: [IneligibleCase] = [
    IneligibleCase(
      vm: "local", filter: "storage", reason: "local's disk is on src-local, not on shared storage dst mounts"),
    IneligibleCase(
      vm: "newer-cpu", filter: "cpu-compatibility",
      reason: "newer-cpu was started as Icelake-Server and dst (Cascadelake-Server) lacks "),
    IneligibleCase(vm: "hot", filter: "convergence", reason: "at 1.25GB/s pre-copy does not converge: after "),
  ]

  @Test("liveIneligible: cold shuts the VM down and predicts the outage", arguments: ineligible)
  func ineligibleCold(_ c: IneligibleCase) throws {
    let decision = try #require(try Self.decide(c.vm, .cold).decision)
    #expect(decision.kind == .cold)
    #expect(decision.requiresShutdown)
    #expect(decision.predicted.downtimeMs == decision.predicted.seconds * 1000)
    #expect(decision.predicted.downtimeMs > 0)
    let why = try #require(decision.whyNotLive)
    #expect(why.filter == c.filter)
    #expect(why.sentence(vm: c.vm, host: "dst").hasPrefix(c.reason))
  }

  @Test("liveIneligible: skip rejects the move, naming the check", arguments: ineligible)
  func ineligibleSkip(_ c: IneligibleCase) throws {
    guard case .ineligible(let rejection, let refusesPlan) = try Self.decide(c.vm, .skip) else {
      Issue.record("expected a rejection")
      return
    }
    #expect(!refusesPlan)
    #expect(rejection.filter == c.filter)
    #expect(rejection.host == "dst")
    #expect(rejection.reason.hasPrefix(c.reason))
    #expect(rejection.reason.hasSuffix("the policy (liveIneligible: skip) leaves it in place"))
  }

  @Test("liveIneligible: fail rejects the move and refuses the plan", arguments: ineligible)
  func ineligibleFail(_ c: IneligibleCase) throws {
    guard case .ineligible(let rejection, let refusesPlan) = try Self.decide(c.vm, .fail) else {
      Issue.record("expected a rejection")
      return
    }
    #expect(refusesPlan)
    #expect(rejection.filter == c.filter)
    #expect(rejection.reason.contains("liveIneligible: fail"))
  }

  @Test("Only disks on storage the destination does not mount are copied; local disks always are")
  func disksToCopy() throws {
    let state = PlacementState(cluster: Self.cluster, policy: Policy())
    let dst = try #require(state.hostPosition("dst"))
    let src = try #require(state.hostPosition("src"))
    let off = try #require(state.vmPosition("off"))
    let ok = try #require(state.vmPosition("ok"))
    #expect(state.disksToCopy(off, to: dst).map(\.datastore) == ["src-local"])
    #expect(state.disksToCopy(ok, to: dst).isEmpty)
    // Even the host that mounts a local datastore does not share it.
    #expect(state.disksToCopy(off, to: src).map(\.datastore) == ["src-local"])
  }
}
