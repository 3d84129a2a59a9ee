import BallastEngine
import BallastModel
import Foundation

extension QEMULab {
  /// Changes the load of the test guest in `vm` while it runs: its CPU duty cycle (percent of
  /// each 100 ms it is busy), its dirty rate and its working set; `nil` leaves one as it is.
  ///
  /// The change goes to the guest's control port (its COM2, the UNIX socket
  /// ``LabLayout/controlSocket(_:on:)`` of the host it runs on, `host` or its home by default)
  /// as one line (`duty=90 rate=8000000`); the call returns the guest's status once the guest
  /// has applied it. The VM's definition keeps the new load, so a restart (or a cold move) boots
  /// with it; a live migration carries the running guest's load along in its memory.
  @discardableResult
  public func setLoad(
    vm: String, on host: String? = nil, duty: Int? = nil, rate: Bandwidth? = nil, workingSet: ByteCount? = nil,
    timeout: TimeInterval = 10
  ) async throws -> GuestStatus {
    guard duty != nil || rate != nil || workingSet != nil else {
      throw DriverError(vm: vm, "no load to set", hint: "give a duty cycle, a dirty rate or a working set")
    }
    guard let host = host ?? hostDefining(vm) else {
      throw DriverError(vm: vm, "the VM is not defined on any lab host", hint: "run `ballast lab up`")
    }
    guard instance(vm: vm, on: host) != nil else {
      throw DriverError(vm: vm, host: host, "the VM is not running here; its guest cannot take a new load")
    }
    let before = try await guestStatus(vm: vm, on: host)
    guard let before, before.state == .running else {
      throw DriverError(
        vm: vm, host: host, "the test guest is not running its loop yet", hint: "wait for it to boot, then retry")
    }
    guard let applied = before.commands else {
      throw DriverError(
        vm: vm, host: host, "the guest has no control port (it was built from an older guest/)",
        hint: "restart the VM so it boots the current guest")
    }
    let change = GuestLoadChange(dutyPercent: duty, dirtyRate: rate, workingSet: workingSet)
    let control = try await GuestControlPort.open(layout.controlSocket(vm, on: host), vm: vm, host: host)
    // Kept open until the guest applied the line: QEMU drops unread input when the peer hangs up.
    defer { control.close() }
    try control.send(change.controlLine, vm: vm, host: host)
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      if let status = try await guestStatus(vm: vm, on: host), let count = status.commands, count != applied {
        try remember(change, vm: vm, on: host)
        return status
      }
      guard Date() < deadline else {
        throw DriverError(
          vm: vm, host: host, "the guest did not apply `\(change.controlLine.dropLast())` within \(Int(timeout))s",
          hint: "is the VM paused (a migration in its final copy)? see \(layout.consoleLog(vm, on: host))")
      }
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  /// Writes `change` into `vm`'s definition on `host`, so a restart boots with it.
  private func remember(_ change: GuestLoadChange, vm: String, on host: String) throws {
    let file = layout.definitionFile(vm, on: host)
    var definition = try VMDefinition.load(file)
    definition.workload = change.applied(to: definition.workload)
    try definition.save(to: file)
  }
}

/// A load change for the running test guest: the keys of its kernel command line it also
/// accepts on its control port.
public struct GuestLoadChange: Sendable, Hashable {
  /// Percent of each 100 ms the vCPU is busy, 0…100.
  public var dutyPercent: Int?
  /// Bytes dirtied per second.
  public var dirtyRate: Bandwidth?
  /// Memory rewritten page by page.
  public var workingSet: ByteCount?

  public init(dutyPercent: Int? = nil, dirtyRate: Bandwidth? = nil, workingSet: ByteCount? = nil) {
    self.dutyPercent = dutyPercent.map { min(max($0, 0), 100) }
    self.dirtyRate = dirtyRate
    self.workingSet = workingSet
  }

  /// The line the guest reads (`duty=90 rate=8000000 ws=4194304\n`); the guest takes 32-bit
  /// values, so rates and sizes are capped at 4 GiB − 1.
  public var controlLine: String {
    var tokens: [String] = []
    if let dutyPercent { tokens.append("duty=\(dutyPercent)") }
    if let dirtyRate { tokens.append("rate=\(Self.guestValue(dirtyRate.bytesPerSecond))") }
    if let workingSet { tokens.append("ws=\(Self.guestValue(Double(workingSet.bytes)))") }
    return tokens.joined(separator: " ") + "\n"
  }

  /// `workload` with this change applied.
  public func applied(to workload: GuestWorkload) -> GuestWorkload {
    var workload = workload
    if let dutyPercent { workload.dutyPercent = dutyPercent }
    if let dirtyRate { workload.dirtyBytesPerSecond = Self.guestValue(dirtyRate.bytesPerSecond) }
    if let workingSet { workload.workingSetBytes = Self.guestValue(Double(workingSet.bytes)) }
    return workload
  }

  static func guestValue(_ value: Double) -> Int64 {
    Int64(min(max(value.rounded(), 0), Double(UInt32.max)))
  }
}
