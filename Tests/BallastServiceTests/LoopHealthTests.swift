import Testing

@testable import BallastService

/// `/healthz` and `/readyz` over a loop's life: judged on facts with hand-set times.
@Suite("loop health and readiness")
struct LoopHealthTests {
  let health = LoopHealth(interval: 10)

  @Test func aLoopThatHasNotRunARoundIsHealthyForTwoIntervalsThenNot() {
    let facts = LoopFacts(startedAt: 100)
    #expect(health.health(facts, now: 105).ok)
    #expect(health.health(facts, now: 120).ok)
    let late = health.health(facts, now: 121)
    #expect(!late.ok)
    #expect(late.reason.contains("no round has completed"))
    #expect(!health.readiness(facts, now: 105).ok)
  }

  @Test func roundsOnTimeAreHealthyAndReadyOnceEveryHostWasSampled() {
    var facts = LoopFacts(startedAt: 0)
    facts.lastRoundEndedAt = 50
    facts.hostsLeftOut = ["h3"]
    #expect(health.health(facts, now: 69).ok)
    let notReady = health.readiness(facts, now: 69)
    #expect(!notReady.ok && notReady.reason.contains("h3"))
    facts.sampledEveryHost = true
    #expect(health.readiness(facts, now: 69).ok)
    // Stalled: the last round is more than two intervals old and no round runs.
    let stalled = health.health(facts, now: 71)
    #expect(!stalled.ok && stalled.reason.contains("21.0s ago"))
    #expect(!health.readiness(facts, now: 71).ok)
  }

  @Test func aRoundStillRunningIsOnTimeUntilTwoIntervalsAfterItsStart() {
    var facts = LoopFacts(startedAt: 0)
    facts.lastRoundEndedAt = 50
    facts.roundStartedAt = 60
    #expect(health.health(facts, now: 79).ok)
    let stuck = health.health(facts, now: 81)
    #expect(!stuck.ok && stuck.reason.contains("the round running started 21.0s ago"))
  }

  @Test func aLongMigrationThatKeepsReportingProgressIsHealthy() {
    var facts = LoopFacts(startedAt: 0)
    facts.lastRoundEndedAt = 50
    facts.roundStartedAt = 60
    facts.movesInFlight = 2
    facts.lastEngineEventAt = 295
    let migrating = health.health(facts, now: 300)
    #expect(migrating.ok && migrating.reason.contains("2 migration(s) in flight"))
    facts.lastEngineEventAt = 270
    let silent = health.health(facts, now: 300)
    #expect(!silent.ok && silent.reason.contains("last progress 30.0s ago"))
  }

  @Test func failingRoundsTurnItUnhealthyWithTheErrorAndASuccessfulRoundHeals() {
    var facts = LoopFacts(startedAt: 0)
    facts.lastRoundEndedAt = 50
    facts.sampledEveryHost = true
    facts.failuresSinceLastRound = 3
    facts.lastError = "database is locked"
    facts.roundStartedAt = 79  // another attempt running: not on time while rounds fail
    let failing = health.health(facts, now: 80)
    #expect(!failing.ok)
    #expect(failing.reason.contains("the last 3 round(s) failed: database is locked"))
    facts.failuresSinceLastRound = 0
    facts.roundStartedAt = nil
    facts.lastRoundEndedAt = 81
    #expect(health.health(facts, now: 82).ok)
    #expect(health.readiness(facts, now: 82).ok)
  }

  @Test func aStandbyIsHealthyAndNotReady() {
    var facts = LoopFacts(startedAt: 0)
    facts.standingByFor = "balance --loop pid 7 on node-a"
    facts.lastStandbyCheckAt = 95
    #expect(health.health(facts, now: 100).ok)
    let ready = health.readiness(facts, now: 100)
    #expect(!ready.ok && ready.reason.contains("standing by"))
    #expect(!health.health(facts, now: 116).ok)
  }

  @Test func aStoppingLoopStaysHealthyButIsNotReady() {
    var facts = LoopFacts(startedAt: 0)
    facts.lastRoundEndedAt = 1
    facts.sampledEveryHost = true
    facts.stopping = true
    facts.movesInFlight = 1
    #expect(health.health(facts, now: 500).ok)
    #expect(health.readiness(facts, now: 2).reason == "stopping")
  }
}

/// A loop paced faster than a round a second is judged on two seconds, not two of its intervals.
@Suite("loop health at a high pace")
struct FastLoopHealthTests {
  @Test func aRoundLateByLessThanTheMinimumIsOnTime() {
    let health = LoopHealth(interval: 0.05)
    #expect(health.limit == LoopHealth.minimumLimit)
    #expect(LoopHealth(interval: 10).limit == 20)
  }
}
