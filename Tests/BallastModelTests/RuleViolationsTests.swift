import Testing

@testable import BallastModel

@Suite("Rule violations")
struct RuleViolationsTests {
  static func host(_ name: String, memoryGiB: Double = 64, cores: Int = 8, cpu: String = "Cascadelake-Server") -> Host {
    Host(
      name: name, cores: cores, memory: .gib(memoryGiB), cpuModel: cpu, migrationBandwidth: .gbit(10),
      datastores: ["san"])
  }

  static func vm(
    _ name: String, on host: String, memoryGiB: Double = 4, vcpus: Int = 2, state: PowerState = .running,
    model: String = "Skylake-Server", labels: [String: String] = [:]
  ) -> VM {
    VM(
      name: name, host: host, state: state, vcpus: vcpus, memory: .gib(memoryGiB), cpuModel: model,
      disks: [Disk(datastore: "san", size: .gib(10))], labels: labels)
  }

  static func cluster(_ vms: [VM], hosts: [Host] = [host("h1"), host("h2"), host("h3")]) -> Cluster {
    Cluster(name: "c", datastores: [Datastore(name: "san", shared: true)], hosts: hosts, vms: vms)
  }

  static func policy(_ rules: [PlacementRule]) -> Policy {
    var policy = Policy()
    policy.rules = rules
    return policy
  }

  @Test func aClusterThatKeepsEveryRuleHasNone() {
    let cluster = Self.cluster([Self.vm("a", on: "h1"), Self.vm("b", on: "h2")])
    let policy = Self.policy([
      PlacementRule(name: "apart", kind: .antiAffinity, vms: ["a", "b"]),
      PlacementRule(name: "pin", kind: .vmHost, vms: ["a"], hosts: ["h1"], mode: .must),
    ])
    #expect(RuleViolations.find(in: cluster, policy: policy).isEmpty)
  }

  @Test(
    "Each kind of violation, with its VMs, hosts and sentence",
    arguments: [
      (
        PlacementRule(name: "apart", kind: .antiAffinity, selector: ["app": "db"]), RuleViolation.Kind.antiAffinity,
        true, ["db-1", "db-2"], ["h1"], "anti-affinity rule apart: db-1 and db-2 share h1"
      ),
      (
        PlacementRule(name: "apart", kind: .antiAffinity, vms: ["db-1", "db-2"], mode: .should), .antiAffinity, false,
        ["db-1", "db-2"], ["h1"], "soft anti-affinity rule apart: db-1 and db-2 share h1"
      ),
      (
        PlacementRule(name: "together", kind: .affinity, vms: ["db-1", "web"]), .affinity, true, ["db-1", "web"],
        ["h1", "h2"], "affinity rule together: db-1 on h1; web on h2 (they belong on one host)"
      ),
      (
        PlacementRule(name: "licensed", kind: .vmHost, vms: ["web"], hosts: ["h1", "h3"], mode: .must), .vmHost, true,
        ["web"], ["h2"], "rule licensed keeps web on h1 and h3; it is on h2"
      ),
      (
        PlacementRule(name: "old", kind: .vmHost, vms: ["db-2"], hosts: ["h1"], mode: .mustNot), .vmHost, true,
        ["db-2"], ["h1"], "rule old keeps db-2 off h1; it is on h1"
      ),
      (
        PlacementRule(name: "prefer", kind: .vmHost, vms: ["web"], hosts: ["h3"], mode: .should), .vmHost, false,
        ["web"], ["h2"], "rule prefer prefers web on h3; it is on h2"
      ),
      (
        PlacementRule(name: "avoid", kind: .vmHost, vms: ["web"], hosts: ["h2"], mode: .shouldNot), .vmHost, false,
        ["web"], ["h2"], "rule avoid prefers web off h2; it is on h2"
      ),
    ] as [(PlacementRule, RuleViolation.Kind, Bool, [String], [String], String)])
  func eachRuleKind(
    rule: PlacementRule, kind: RuleViolation.Kind, hard: Bool, vms: [String], hosts: [String], sentence: String
  ) {
    let cluster = Self.cluster([
      Self.vm("db-1", on: "h1", labels: ["app": "db"]),
      Self.vm("db-2", on: "h1", state: .stopped, labels: ["app": "db"]),
      Self.vm("web", on: "h2"),
    ])
    let found = RuleViolations.find(in: cluster, policy: Self.policy([rule]))
    #expect(
      found == [
        RuleViolation(
          kind: kind, rule: rule.name, mode: rule.mode, hard: hard, vms: vms, hosts: hosts, sentence: sentence)
      ])
    #expect(found.first?.check == kind.check)
  }

  @Test func capacityCountsRunningVMsUnderThePolicysOvercommit() {
    let cluster = Self.cluster([
      Self.vm("a", on: "h1", memoryGiB: 40, vcpus: 20), Self.vm("b", on: "h1", memoryGiB: 40, vcpus: 20),
      Self.vm("off", on: "h1", memoryGiB: 40, state: .stopped),
    ])
    let found = RuleViolations.find(in: cluster, policy: Policy())
    #expect(found.map(\.kind) == [.capacity])
    #expect(found.first?.vms == ["a", "b"])
    #expect(
      found.first?.sentence
        == "h1 is over capacity: its running VMs are allocated 80GiB of memory, it allows 64GiB (64GiB under a 1.0× "
        + "memory overcommit); and its running VMs have 40 vCPUs, it allows 32 (8 cores under a 4.0× CPU overcommit)")
    var generous = Policy()
    generous.overcommit = Overcommit(cpu: 8, memory: 1.5)
    #expect(RuleViolations.find(in: cluster, policy: generous).isEmpty)
  }

  @Test func aRunningVMOnACPUItCannotRunOnIsAViolationAndAStoppedOneIsNot() {
    let cluster = Self.cluster(
      [
        Self.vm("new", on: "h1", model: "Icelake-Server"),
        Self.vm("parked", on: "h1", state: .stopped, model: "Icelake-Server"),
        Self.vm("mystery", on: "h1", model: "host-passthrough"),
      ], hosts: [Self.host("h1", cpu: "Cascadelake-Server")])
    let found = RuleViolations.find(in: cluster, policy: Policy())
    #expect(found.map(\.vms) == [["new"]])
    #expect(found.first?.sentence.hasSuffix(": it could not start there again") == true)
  }

  @Test func hardViolationsComeFirst() {
    let cluster = Self.cluster([Self.vm("a", on: "h1"), Self.vm("b", on: "h1")])
    let policy = Self.policy([
      PlacementRule(name: "soft", kind: .antiAffinity, vms: ["a", "b"], mode: .should),
      PlacementRule(name: "hard", kind: .vmHost, vms: ["a"], hosts: ["h2"], mode: .must),
    ])
    #expect(RuleViolations.find(in: cluster, policy: policy).map(\.label) == ["hard", "soft"])
  }
}
