import Testing

@testable import BallastModel

@Suite("Policy files")
struct PolicyFileTests {
  @Test func balancedPolicyFileIsTheBuiltInDefault() throws {
    let file = try PolicyFile.load(path: "\(repositoryRoot)/policies/balanced.yaml")
    #expect(file == Policy())
  }

  @Test(arguments: ["conservative", "maintenance"])
  func shippedPoliciesLoad(name: String) throws {
    let policy = try PolicyFile.load(path: "\(repositoryRoot)/policies/\(name).yaml")
    #expect(policy.name == name)
    #expect(policy != Policy())
  }

  @Test func readsEveryKey() throws {
    let policy = try PolicyFile.parse(
      """
      name: custom
      weights: {cpu: 0.7, memory: 0.3}
      threshold: 0.08
      holdFor: 20m
      aggressiveness: 5
      maxMovesPerRound: 2
      cooldown: 30m
      overcommit: {cpu: 2, memory: 1.2}
      concurrency: {perHost: 1, cluster: 3}
      bandwidthCap: 5Gbit/s
      downtimeLimit: 50ms
      liveIneligible: fail
      convergence: {stopRule: xen, maxRounds: 10, onNoConvergence: raiseLimit, maxDowntime: 1s}
      onCancel: abort
      monitor: {interval: 30s, window: 5m, method: mean, staleAfter: 2m}
      repair: {maxMoves: 3, softWeight: 0.02}
      rules:
        - {name: spread, type: antiAffinity, selector: {app: web}}
        - {name: pin, type: vmHost, vms: [a], hosts: [h1], mode: should}
        - {name: near, type: affinity, vms: [a, b], mode: should}
      """, file: "p.yaml")
    #expect(policy.weights == MetricWeights(cpu: 0.7, memory: 0.3))
    #expect(policy.holdFor == .minutes(20))
    #expect(policy.effectiveMinImprovement == policy.minImprovement / 4)
    #expect(policy.bandwidthCap == .gbit(5))
    #expect(policy.downtimeLimit == .milliseconds(50))
    #expect(policy.liveIneligible == .fail)
    #expect(policy.convergence.stopRule == .xen && policy.convergence.maxRounds == 10)
    #expect(policy.convergence.onNoConvergence == .raiseLimit)
    #expect(policy.monitor.method == .mean)
    #expect(policy.repair == RepairSettings(maxMoves: 3, softWeight: 0.02))
    #expect(policy.rules.count == 3)
    #expect(policy.rules[1].mode == .should)
    #expect(policy.rules.map(\.isHard) == [true, false, false])
  }

  @Test func affinityRulesTakeMustOrShouldOnly() {
    do {
      _ = try PolicyFile.parse(
        """
        repair: {maxMoves: 0, softWeight: 2}
        rules:
          - {name: apart, type: antiAffinity, vms: [a, b], mode: mustNot}
        """, file: "p.yaml")
      Issue.record("expected errors")
    } catch let errors as FileErrors {
      #expect(errors.issues.map(\.keyPath) == ["repair.maxMoves", "repair.softWeight", "rules[0].mode"])
      #expect(errors.issues.last?.message.contains("takes mode must (the default: always) or should") == true)
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test func reportsEveryErrorWithItsLine() {
    do {
      _ = try PolicyFile.parse(
        """
        name: bad
        treshold: 0.1
        aggressiveness: 9
        liveIneligible: migrate
        rules:
          - {name: r, type: vmHost, vms: [a]}
        """, file: "p.yaml")
      Issue.record("expected errors")
    } catch let errors as FileErrors {
      let lines = errors.issues.map { "\($0.line) \($0.keyPath)" }
      #expect(lines == ["2 treshold", "3 aggressiveness", "4 liveIneligible", "6 rules[0]"])
      #expect(errors.issues[0].message.contains("did you mean 'threshold'"))
      #expect(errors.issues[2].message.contains("cold, skip, fail"))
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test func rulesAreCheckedAgainstTheCluster() throws {
    let cluster = try ClusterFile.parse(validCluster, file: "c.yaml")
    do {
      _ = try PolicyFile.parse(
        "rules:\n  - {name: r, type: antiAffinity, vms: [a, zz]}\n", file: "p.yaml", cluster: cluster)
      Issue.record("expected an error")
    } catch let errors as FileErrors {
      #expect(errors.issues.map(\.keyPath) == ["rules[0].vms[1]"])
      #expect(errors.issues.first?.line == 2)
    }
  }
}

@Suite("Minimum gain")
struct MinimumGainTests {
  @Test(arguments: [(4, 0.002), (16, 0.002), (32, 0.001), (1000, 0.000032)])
  func scalesDownAboveSixteenHosts(hosts: Int, expected: Double) {
    #expect(abs(Policy().minimumGain(activeHosts: hosts) - expected) < 1e-12)
  }

  @Test func aggressivenessStillApplies() {
    var policy = Policy()
    policy.aggressiveness = 5
    #expect(abs(policy.minimumGain(activeHosts: 32) - 0.00025) < 1e-12)
  }
}
