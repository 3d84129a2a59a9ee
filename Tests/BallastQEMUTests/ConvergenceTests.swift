import BallastDriverSupport
import BallastEngine
import BallastModel
import BallastTestSupport
import Foundation
import Testing

@testable import BallastQEMU

extension QEMUIntegration {
  /// A guest rewriting its 4 MiB working set at 32 MB/s over an 8 MB/s link never gets
  /// below the 100 ms × 8 MB/s = 0.8 MB the limit allows, unless its vCPU is throttled.
  @Suite("Pre-copy that does not converge")
  struct ConvergenceTests {
    static let hog = labVM("hog", workingSet: .mib(4), dirtyRate: .mbPerSecond(32), cpu: 1)

    static func settings(_ action: NoConvergenceAction) -> LiveSettings {
      var convergence = Convergence()
      convergence.onNoConvergence = action
      convergence.maxRounds = 30
      return LiveSettings(downtimeLimit: .milliseconds(100), bandwidthCap: .mbPerSecond(8), convergence: convergence)
    }

    @Test("auto-converge throttles the guest until it converges")
    func throttleConverges() async throws {
      try await TestLab.with(vms: [Self.hog]) { test in
        _ = try await test.lab.waitForGuest(vm: "hog", on: "host-a")
        let request = MigrationRequest(vm: "hog", from: "host-a", to: "host-b", kind: .live)
        let reservation = try await test.driver.reserve(request)
        let log = EventLog()
        let result = try await test.driver.transfer(reservation, settings: Self.settings(.throttle)) {
          await log.append($0)
        }
        let rounds = await log.rounds
        #expect(result.throttle >= 0.2, "auto-converge throttled the guest: \(rounds.map(\.throttle))")
        #expect(rounds.count >= 3)
        #expect(rounds.map(\.throttle) == rounds.map(\.throttle).sorted(), "the throttle only goes up")
        try await test.driver.commit(reservation)
        try await test.driver.activate(reservation)
        #expect(try await test.driver.locate(vm: "hog") == [VMPlacement(host: "host-b", state: .running)])
      }
    }

    @Test(
      "raising the limit (up to maxDowntime) or accepting the pause completes without throttling",
      arguments: [(NoConvergenceAction.raiseLimit, Int64(2000)), (.accept, ConvergenceWatch.unlimitedDowntimeMs)])
    func raiseOrAccept(action: NoConvergenceAction, limitMs: Int64) async throws {
      try await TestLab.with(vms: [Self.hog]) { test in
        _ = try await test.lab.waitForGuest(vm: "hog", on: "host-a")
        let request = MigrationRequest(vm: "hog", from: "host-a", to: "host-b", kind: .live)
        let reservation = try await test.driver.reserve(request)
        let log = EventLog()
        let result = try await test.driver.transfer(reservation, settings: Self.settings(action)) {
          await log.append($0)
        }
        #expect(result.throttle == 0)
        #expect(result.rounds >= 3, "the policy acted only once pre-copy stopped converging")
        #expect(await log.stopAndCopyAnnounced)
        let parameters = try await test.lab.execute("query-migrate-parameters", vm: "hog", on: "host-a")
        #expect(parameters["downtime-limit"]?.int == limitMs)
        try await test.driver.commit(reservation)
        try await test.driver.activate(reservation)
        #expect(try await test.driver.locate(vm: "hog") == [VMPlacement(host: "host-b", state: .running)])
      }
    }

    @Test("with the abort policy the migration is cancelled and the VM keeps running on its source")
    func abortLeavesSource() async throws {
      try await TestLab.with(vms: [Self.hog]) { test in
        let before = try await test.lab.waitForGuest(vm: "hog", on: "host-a")
        let request = MigrationRequest(vm: "hog", from: "host-a", to: "host-b", kind: .live)
        let reservation = try await test.driver.reserve(request)
        let log = EventLog()
        let error = await #expect(throws: DriverError.self) {
          try await test.driver.transfer(reservation, settings: Self.settings(.abort)) { await log.append($0) }
        }
        #expect(error?.message.contains("does not converge") == true, "\(String(describing: error))")
        #expect(await log.stopAndCopyAnnounced == false)
        let rounds = await log.rounds
        #expect(rounds.count >= 3 && rounds.count < 30, "stopped when what remains stopped shrinking")
        #expect(rounds.allSatisfy { $0.throttle == 0 })
        try await test.driver.release(reservation)
        #expect(try await test.driver.locate(vm: "hog") == [VMPlacement(host: "host-a", state: .running)])
        let status = try await test.lab.execute("query-migrate", vm: "hog", on: "host-a")
        #expect(status["status"]?.string == "cancelled")
        let running = await eventually(timeout: 10) {
          (try? await test.lab.guestStatus(vm: "hog", on: "host-a"))?.dirtiedPages ?? 0 > before.dirtiedPages
        }
        #expect(running)
      }
    }
  }
}
