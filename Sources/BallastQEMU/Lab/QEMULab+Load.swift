import BallastDriverSupport
import BallastEngine
import BallastModel
import Foundation

extension QEMULab {
  /// Changes the load of the test guest in `vm` while it runs: its CPU duty cycle (percent of
  /// each 100 ms it is busy), its dirty rate and its working set; `nil` leaves one as it is.
  ///
  /// The change goes to the guest's control port (its COM2, the UNIX socket
  /// ``LabLayout/controlSocket(_:on:)`` of the host it runs on: `host`, else its home) as one
  /// line (`duty=90 rate=8000000`); the call returns the guest's acknowledgement, the line it
  /// echoes on its console once it applied the change. It needs no QMP, so it works while a
  /// Ballast process holds the VM's monitor. The VM's definition keeps the new load, so a
  /// restart (or a cold move) boots with it; a live migration carries the running guest's load
  /// along in its memory.
  @discardableResult
  public func setLoad(
    vm: String, on host: String? = nil, duty: Int? = nil, rate: Bandwidth? = nil, workingSet: ByteCount? = nil,
    timeout: TimeInterval = 10
  ) async throws -> GuestLoadAck {
    guard duty != nil || rate != nil || workingSet != nil else {
      throw DriverError(vm: vm, "no load to set", hint: "give a duty cycle, a dirty rate or a working set")
    }
    guard let host = host ?? hostDefining(vm) else {
      throw DriverError(vm: vm, "the VM is not defined on any lab host", hint: "run `ballast lab up`")
    }
    guard instance(vm: vm, on: host) != nil else {
      throw DriverError(vm: vm, host: host, "the VM is not running here; its guest cannot take a new load")
    }
    let change = GuestLoadChange(dutyPercent: duty, dirtyRate: rate, workingSet: workingSet)
    let console = layout.consoleLog(vm, on: host)
    let offset = Self.fileSize(console)
    let control = try await GuestControlPort.open(layout.controlSocket(vm, on: host), vm: vm, host: host)
    // Kept open until the guest applied the line: QEMU drops unread input when the peer hangs up.
    defer { control.close() }
    try control.send(change.controlLine, vm: vm, host: host)
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      if let ack = GuestLoadAck.last(in: Self.text(of: console, from: offset)) {
        try remember(change, vm: vm, on: host)
        return ack
      }
      guard Date() < deadline else {
        throw DriverError(
          vm: vm, host: host, "the guest did not apply `\(change.controlLine.dropLast())` within \(Int(timeout))s",
          hint: "is the VM paused (a migration in its final copy) or still booting? see \(console)")
      }
      try await Task.sleep(for: .milliseconds(20))
    }
  }

  /// Writes `change` into `vm`'s definition on `host`, so a restart boots with it.
  private func remember(_ change: GuestLoadChange, vm: String, on host: String) throws {
    let file = layout.definitionFile(vm, on: host)
    var definition = try VMDefinition.load(file)
    definition.workload = change.applied(to: definition.workload)
    try definition.save(to: file)
  }

  static func fileSize(_ path: String) -> UInt64 {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
  }

  /// What `path` holds from byte `offset` on (empty when it cannot be read).
  static func text(of path: String, from offset: UInt64) -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
    defer { try? handle.close() }
    guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd() else { return "" }
    return String(decoding: data, as: UTF8.self)
  }
}

/// The test guest's acknowledgement of a load change, as it echoes it on its console:
/// `ballast-guest: set ws=4194304 rate=8000000 duty=90 commands=2`.
public struct GuestLoadAck: Sendable, Hashable {
  public var workingSetBytes: Int64
  /// Bytes dirtied per second; `nil` when the guest dirties as fast as it can.
  public var dirtyBytesPerSecond: Int64?
  public var dutyPercent: Int
  /// Control lines the guest has applied since it booted (this one included).
  public var commands: Int

  public init(workingSetBytes: Int64, dirtyBytesPerSecond: Int64?, dutyPercent: Int, commands: Int) {
    self.workingSetBytes = workingSetBytes
    self.dirtyBytesPerSecond = dirtyBytesPerSecond
    self.dutyPercent = dutyPercent
    self.commands = commands
  }

  /// The last acknowledgement in `console` (complete lines only), if any.
  public static func last(in console: String) -> GuestLoadAck? {
    guard let end = console.lastIndex(of: "\n") else { return nil }
    return console[..<end].split(separator: "\n").reversed().lazy.compactMap { GuestLoadAck(line: $0) }.first
  }

  init?(line: Substring) {
    guard let start = line.range(of: "ballast-guest: set ") else { return nil }
    var values: [Substring: Substring] = [:]
    for token in line[start.upperBound...].split(separator: " ") {
      let parts = token.split(separator: "=", maxSplits: 1)
      if parts.count == 2 { values[parts[0]] = parts[1] }
    }
    guard let ws = values["ws"].flatMap({ Int64($0) }), let rate = values["rate"],
      let duty = values["duty"].flatMap({ Int($0) }), let commands = values["commands"].flatMap({ Int($0) })
    else { return nil }
    workingSetBytes = ws
    dirtyBytesPerSecond = rate.hasSuffix("(max)") ? nil : Int64(rate)
    dutyPercent = duty
    self.commands = commands
  }
}
