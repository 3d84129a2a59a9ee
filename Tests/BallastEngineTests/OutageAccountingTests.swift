import BallastEngine
import BallastModel
import BallastTestSupport
import Testing

/// The simulated driver, but telling the engine the guest stayed stopped `outage` seconds (as
/// the QEMU driver does from QMP's STOP and RESUME).
private actor OutageReportingDriver: Driver {
  let simulated: SimulatedDriver
  let reported: Double?

  init(_ simulated: SimulatedDriver, outage: Double?) {
    self.simulated = simulated
    self.reported = outage
  }

  func inventory() async throws -> Cluster { try await simulated.inventory() }
  func locate(vm: String) async throws -> [VMPlacement] { try await simulated.locate(vm: vm) }
  func reserve(_ request: MigrationRequest) async throws -> Reservation { try await simulated.reserve(request) }
  func release(_ reservation: Reservation) async throws { try await simulated.release(reservation) }
  func transfer(
    _ reservation: Reservation, settings: LiveSettings, onEvent: @Sendable (TransferEvent) async -> Void
  ) async throws -> TransferResult {
    try await simulated.transfer(reservation, settings: settings, onEvent: onEvent)
  }
  func resumeOnSource(_ reservation: Reservation) async throws { try await simulated.resumeOnSource(reservation) }
  func commit(_ reservation: Reservation) async throws { try await simulated.commit(reservation) }
  func activate(_ reservation: Reservation) async throws { try await simulated.activate(reservation) }
  func outage(of reservation: Reservation) async -> Double? { reported }
  func shutdown(vm: String, on host: String, timeout: TimeSpan) async throws {
    try await simulated.shutdown(vm: vm, on: host, timeout: timeout)
  }
  func start(vm: String, on host: String) async throws { try await simulated.start(vm: vm, on: host) }
  func copyFiles(_ request: MigrationRequest, reservation: Reservation) async throws -> CopyResult {
    try await simulated.copyFiles(request, reservation: reservation)
  }
  func register(_ request: MigrationRequest, reservation: Reservation) async throws {
    try await simulated.register(request, reservation: reservation)
  }
  func removeSource(_ request: MigrationRequest) async throws { try await simulated.removeSource(request) }
  func discardDestination(_ request: MigrationRequest, reservation: Reservation) async throws {
    try await simulated.discardDestination(request, reservation: reservation)
  }
}

@Suite("The guest's outage against the hypervisor's downtime")
struct OutageAccountingTests {
  /// One live move of `web` through a driver reporting `outage`; its result.
  static func move(outage: Double?) async throws -> MoveResult {
    let cluster = Fixture.cluster(hostCount: 2, vms: [Fixture.vm("web", on: "h0")])
    let simulated = try SimulatedDriver(cluster: cluster, store: InMemoryStateStore())
    let engine = MigrationEngine(
      driver: OutageReportingDriver(simulated, outage: outage), journal: InMemoryJournal(), clock: simulated.clock,
      policy: Fixture.policy())
    let summary = await engine.execute(Fixture.plan([Fixture.move("web", from: "h0", to: "h1")], cluster: cluster))
    return try #require(summary.results.first)
  }

  @Test("a longer outage is the move's downtime; the hypervisor's own stays beside it; the extra counts as transfer")
  func longerOutage() async throws {
    let plain = try await Self.move(outage: nil)
    let plainObservation = try #require(plain.observation)
    let pause = try #require(plainObservation.hypervisorDowntimeSeconds)
    #expect(pause > 0 && abs(plainObservation.downtimeSeconds - pause) < 1e-9, "no outage told: the pause is it")
    // The simulated commitment and activation take 60 ms; the guest stays stopped through 40 of them.
    #expect(plainObservation.finishSeconds > 0.04)

    let longer = try await Self.move(outage: pause + 0.04)
    let observation = try #require(longer.observation)
    let measured = try #require(longer.measured)
    #expect(abs(measured.downtimeMs - (pause + 0.04) * 1000) < 1e-6)
    #expect(abs(observation.downtimeSeconds - (pause + 0.04)) < 1e-9)
    #expect(observation.hypervisorDowntimeSeconds == pause, "the hypervisor's figure is kept as it reported it")
    #expect(abs(observation.transferSeconds - (plainObservation.transferSeconds + 0.04)) < 1e-6)
    #expect(abs(observation.finishSeconds - (plainObservation.finishSeconds - 0.04)) < 1e-6, "taken from finish")
    #expect(abs(observation.totalSeconds - plainObservation.totalSeconds) < 1e-6, "the move took as long")
  }

  @Test("an outage shorter than the hypervisor's downtime changes nothing")
  func shorterOutage() async throws {
    let result = try await Self.move(outage: 0)
    let observation = try #require(result.observation)
    let pause = try #require(observation.hypervisorDowntimeSeconds)
    #expect(abs(observation.downtimeSeconds - pause) < 1e-9)
    #expect(abs((result.measured?.downtimeMs ?? 0) - pause * 1000) < 1e-6)
  }
}
