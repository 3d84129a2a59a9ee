import BallastService
import Foundation
import Testing

/// The loop under systemd (`Type=notify`): what it tells `$NOTIFY_SOCKET`, and the unit file.
@Suite("systemd", .serialized)
struct SystemdProcessTests {
  @Test(.timeLimit(.minutes(2)))
  func theLoopSaysReadyItsStatusAndStopping() async throws {
    let folder = try LoopProcess.workspace(policy: "threshold: 0.9\n")
    let socket = try NotifySocket(path: folder.appendingPathComponent("notify").path)
    defer { socket.close() }
    let loop = try LoopProcess(folder: folder, listen: nil, environment: ["NOTIFY_SOCKET": socket.path])
    let ready = socket.receive(containing: "READY=1", within: 60)
    #expect(ready != nil, "\(loop.child.stderr)")
    let status = socket.receive(containing: "STATUS=imbalance", within: 30)
    #expect(status?.contains("balanced, nothing to do") == true, "\(status ?? "no status")")
    loop.child.signal(SIGTERM)
    #expect(socket.receive(containing: "STOPPING=1", within: 30) != nil)
    #expect(await loop.child.exitStatus(within: 60) == 0, "\(loop.child.stderr)")
    await loop.tearDown()
  }

  @Test("a standby is ready once it stands by, and its status line says who leads")
  func aStandbyIsReady() throws {
    let folder = try LoopProcess.workspace()
    defer { try? FileManager.default.removeItem(at: folder) }
    let socket = try NotifySocket(path: folder.appendingPathComponent("notify").path)
    defer { socket.close() }
    let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path])
    notifier.standingBy(leader: "balance --loop pid 7 on node-a")
    #expect(
      socket.receive(within: 5) == "READY=1\nSTATUS=standing by: balance --loop pid 7 on node-a balances the cluster")
    notifier.standingBy(leader: "balance --loop pid 7 on node-a")
    #expect(socket.receive(within: 5) == "STATUS=standing by: balance --loop pid 7 on node-a balances the cluster")
    notifier.becameActive()
    #expect(socket.receive(within: 5) == "STATUS=leading the balancing of the cluster")
    notifier.roundStarted()  // ready already: only once
    #expect(socket.receive(within: 1) == nil)
  }

  @Test func withoutNotifySocketNothingIsSent() {
    let notifier = SystemdNotifier(environment: [:])
    #expect(notifier.socketPath == nil)
    #expect(!notifier.send("READY=1"))
    #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]).socketPath == nil)
    #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "@abstract"]).socketPath == "@abstract")
  }
}
