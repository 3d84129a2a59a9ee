import BallastModel
import BallastTestSupport
import Foundation
import Testing

@testable import BallastQEMU

extension QEMUIntegration {
  @Suite("QMP client against a real QEMU")
  struct QMPClientTests {
    @Test("greeting, commands with answers, QEMU's own errors, events, disconnection")
    func conversation() async throws {
      try await TestLab.with(vms: [labVM("vm1", workingSet: .mib(4), dirtyRate: .mbPerSecond(4))]) { test in
        let socket = test.lab.layout.qmpSocket("vm1", on: "host-a")
        let client = try await test.lab.connections.client(socket)
        let version = await client.greeting["QMP"]?["version"]?["qemu"]?["major"]?.int
        #expect((version ?? 0) >= 7)

        let status = try await client.execute("query-status")
        #expect(status["status"]?.string == "running")

        let unknown = await #expect(throws: QMPError.self) { try await client.execute("no-such-command") }
        #expect(unknown?.errorClass == .commandNotFound)
        #expect(unknown?.command == "no-such-command")
        #expect(unknown?.isFromQEMU == true)
        #expect(unknown?.message.contains("no-such-command") == true)

        let bad = await #expect(throws: QMPError.self) {
          try await client.execute("migrate-set-parameters", ["downtime-limit": "soon"])
        }
        #expect(bad?.errorClass == .genericError)
        #expect(bad?.message.contains("downtime-limit") == true)

        let mark = await client.eventCount
        try await client.execute("stop")
        let stopped = await client.waitForEvent(["STOP"], since: mark, timeout: 5)
        #expect(stopped?.name == "STOP")
        #expect((stopped?.timestamp ?? 0) > 1_600_000_000)
        try await client.execute("cont")
        let resumed = await client.waitForEvent(["RESUME"], since: mark, timeout: 5)
        #expect(resumed?.name == "RESUME")

        let guest = try await test.lab.waitForGuest(vm: "vm1", on: "host-a")
        #expect(guest.workingSetPages == 1024)
        #expect(guest.state == .running)

        _ = try? await client.execute("quit", timeout: 5)
        let gone = await eventually(timeout: 5) { await !client.isConnected }
        #expect(gone)
        let afterQuit = await #expect(throws: QMPError.self) { try await client.execute("query-status") }
        #expect(afterQuit?.errorClass == .disconnected)
      }
    }

    @Test("a socket nobody listens on fails with the socket error, not a hang")
    func noServer() async throws {
      let error = await #expect(throws: QMPError.self) {
        _ = try await QMPClient.connect(
          path: "/tmp/bq-missing-\(UUID().uuidString.prefix(6)).sock", timeout: 0.3, logger: testLogger)
      }
      #expect(error?.errorClass == .socketError)
    }
  }
}
