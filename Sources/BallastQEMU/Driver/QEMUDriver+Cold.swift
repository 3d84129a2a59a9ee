import BallastDriverSupport
import BallastEngine
import BallastModel
import Foundation

/// A disk a cold migration copied: where from, where to, and its verified checksum.
struct DiskMove: Sendable, Hashable, Codable {
  var file: String
  var fromDatastore: String
  var toDatastore: String
  var sha256: String
  var bytes: Int64
}

extension QEMUDriver {
  static let diskMovesFile = "disk-moves.json"
  static let runtimeFiles: Set<String> = ["qmp.sock", "monitor.sock", "control.sock", "qemu.pid", diskMovesFile]

  func reserveCold(_ request: MigrationRequest) throws -> Reservation {
    try requireSource(request)
    let vm = request.vm
    if lab.instance(vm: vm, on: request.from) != nil {
      throw DriverError(vm: vm, host: request.from, "the VM is running; shut it down before a cold move")
    }
    let directory = layout.vmDirectory(vm, on: request.to)
    if FileManager.default.fileExists(atPath: directory) {
      let role = (try? VMDefinition.load(layout.definitionFile(vm, on: request.to)))?.role
      throw DriverError(
        vm: vm, host: request.to, "the host already holds a copy of this VM (\(role?.rawValue ?? "unknown"))",
        hint: "run `ballast reconcile`")
    }
    let staging = layout.stagingDirectory(vm, on: request.to)
    try? FileManager.default.removeItem(atPath: staging)
    try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
    return Reservation(request: request, token: ReservationToken(staging: staging).encoded)
  }

  // MARK: Power

  func shutdownSteps(vm: String, on host: String, timeout: TimeSpan) async throws {
    var definition = try self.definition(vm, on: host)
    if let instance = lab.instance(vm: vm, on: host) {
      logger.info("shutting down", metadata: ["vm": "\(vm)", "host": "\(host)"])
      await lab.stop(instance, gracePeriod: max(timeout.seconds, 0.1))
      guard !instance.isAlive else {
        throw DriverError(vm: vm, host: host, "the QEMU process (pid \(instance.pid)) does not exit")
      }
    }
    definition.powerState = .stopped
    try definition.save(to: layout.definitionFile(vm, on: host))
  }

  func startSteps(vm: String, on host: String) async throws {
    var definition = try self.definition(vm, on: host)
    guard definition.role == .active else {
      throw DriverError(vm: vm, host: host, "this host holds a \(definition.role.rawValue) copy, not the VM's home")
    }
    if let instance = lab.instance(vm: vm, on: host) {
      if try await runState(of: instance) != .running {
        try await lab.execute("cont", vm: vm, on: host)
      }
    } else {
      _ = try await lab.launch(definition, on: host, mode: .run)
    }
    definition.powerState = .running
    try definition.save(to: layout.definitionFile(vm, on: host))
    await closeMonitors(of: vm, on: [host])
    logger.info("started", metadata: ["vm": "\(vm)", "host": "\(host)"])
  }

  // MARK: Cold stages 2–4

  func copyFilesSteps(_ request: MigrationRequest, reservation: Reservation) async throws -> CopyResult {
    let vm = request.vm
    guard let staging = try ReservationToken(reservation).staging else {
      throw DriverError(vm: vm, host: request.to, "not a cold reservation")
    }
    if lab.instance(vm: vm, on: request.from) != nil {
      throw DriverError(vm: vm, host: request.from, "the VM is running; shut it down before copying it")
    }
    let started = Date()
    let definition = try self.definition(vm, on: request.from)
    try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
    var checksums: [String: String] = [:]
    var bytes: Double = 0
    let sourceDirectory = layout.vmDirectory(vm, on: request.from)
    for name in try FileManager.default.contentsOfDirectory(atPath: sourceDirectory).sorted()
    where !Self.runtimeFiles.contains(name) {
      let path = sourceDirectory + "/" + name
      guard isRegularFile(path) else { continue }
      let (sum, size) = try await copyVerified(from: path, to: staging + "/" + name, vm: vm, host: request.to)
      checksums[name] = sum
      bytes += Double(size)
    }
    var moves: [DiskMove] = []
    for image in try disksToCopy(request, definition: definition) {
      let target = try targetDatastore(for: image, vm: vm, on: request.to)
      let from = lab.diskPath(image, on: request.from)
      let to = layout.diskImage(image.file, in: target, on: request.to)
      // Recorded before copying, so a failed copy is cleaned up by discardDestination.
      try saveMoves(
        moves + [DiskMove(file: image.file, fromDatastore: image.datastore, toDatastore: target, sha256: "", bytes: 0)],
        in: staging)
      let (sum, size) = try await copyVerified(from: from, to: to, vm: vm, host: request.to, reuseIdentical: true)
      checksums["disk:" + image.file] = sum
      bytes += Double(size)
      moves.append(
        DiskMove(file: image.file, fromDatastore: image.datastore, toDatastore: target, sha256: sum, bytes: size))
      try saveMoves(moves, in: staging)
    }
    try saveMoves(moves, in: staging)
    let seconds = Date().timeIntervalSince(started)
    logger.info(
      "copied", metadata: ["vm": "\(vm)", "to": "\(request.to)", "bytes": "\(Int64(bytes))", "disks": "\(moves.count)"])
    return CopyResult(bytes: bytes, seconds: seconds, checksums: checksums)
  }

  /// The VM's disk images the request moves (matched by datastore, then file name), plus
  /// any the destination cannot reach where they are: a VM never lands on a host without
  /// its disks.
  private func disksToCopy(_ request: MigrationRequest, definition: VMDefinition) throws -> [DiskImage] {
    var remaining = definition.disks
    var images: [DiskImage] = []
    for disk in request.disksToCopy {
      guard
        let index = remaining.firstIndex(where: {
          $0.datastore == disk.datastore && (disk.path == nil || disk.path == $0.file)
        })
      else {
        throw DriverError(
          vm: request.vm, host: request.from,
          "the VM has no disk \(disk.path ?? "") on datastore \(disk.datastore) to copy")
      }
      images.append(remaining.remove(at: index))
    }
    return images + remaining.filter { !reaches($0, from: request.from, on: request.to) }
  }

  /// Where a moved disk goes on `host`: the host's local datastore, else the first shared
  /// one it mounts.
  private func targetDatastore(for image: DiskImage, vm: String, on host: String) throws -> String {
    let destination = try requireHost(host, vm: vm)
    let stores = destination.datastores.compactMap { lab.cluster.datastore(named: $0) }
    if let local = stores.first(where: { !$0.shared && $0.name != image.datastore }) { return local.name }
    if let shared = stores.first(where: { $0.name != image.datastore }) { return shared.name }
    throw DriverError(vm: vm, host: host, "the host mounts no datastore to copy disk \(image.file) to")
  }

  /// Copies `from` to `to` through a `.partial` file and checks both SHA-256 sums match.
  /// With `reuseIdentical`, an existing identical target (an earlier attempt) is kept.
  private func copyVerified(
    from: String, to: String, vm: String, host: String, reuseIdentical: Bool = false
  )
    async throws -> (String, Int64)
  {
    let files = FileManager.default
    let sourceSum = try await SHA256Hasher.file(from)
    let size = ((try? files.attributesOfItem(atPath: from))?[.size] as? NSNumber)?.int64Value ?? 0
    if files.fileExists(atPath: to) {
      if reuseIdentical, try await SHA256Hasher.file(to) == sourceSum { return (sourceSum, size) }
      guard !reuseIdentical else {
        throw DriverError(vm: vm, host: host, "\(to) already exists with other content; refusing to overwrite it")
      }
      try files.removeItem(atPath: to)
    }
    let partial = to + ".partial"
    try? files.removeItem(atPath: partial)
    do {
      try await BlockingWork.run("copy") { try FileManager.default.copyItem(atPath: from, toPath: partial) }
    } catch {
      try? files.removeItem(atPath: partial)
      throw DriverError(vm: vm, host: host, "copying \(from) failed: \(error.localizedDescription)")
    }
    let copySum = try await SHA256Hasher.file(partial)
    guard copySum == sourceSum else {
      try? files.removeItem(atPath: partial)
      throw DriverError(
        vm: vm, host: host, "checksum mismatch copying \(from): \(sourceSum) became \(copySum)",
        hint: "check the destination's disk; the source is untouched")
    }
    guard rename(partial, to) == 0 else {
      throw DriverError(vm: vm, host: host, "cannot rename \(partial) to \(to)")
    }
    return (sourceSum, size)
  }

  private func isRegularFile(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
  }

  func registerSteps(_ request: MigrationRequest, reservation: Reservation) async throws {
    let vm = request.vm
    guard let staging = try ReservationToken(reservation).staging else {
      throw DriverError(vm: vm, host: request.to, "not a cold reservation")
    }
    let target = layout.vmDirectory(vm, on: request.to)
    if FileManager.default.fileExists(atPath: target), !FileManager.default.fileExists(atPath: staging) {
      return  // registered by an earlier attempt
    }
    var definition = try VMDefinition.load(staging + "/vm.json")
    for move in loadMoves(staging) {
      if let i = definition.disks.firstIndex(where: { $0.file == move.file && $0.datastore == move.fromDatastore }) {
        definition.disks[i].datastore = move.toDatastore
      }
    }
    definition.role = .active
    definition.powerState = .stopped
    try definition.save(to: staging + "/vm.json")
    guard !FileManager.default.fileExists(atPath: target) else {
      throw DriverError(vm: vm, host: request.to, "the host already defines this VM")
    }
    guard rename(staging, target) == 0 else {
      throw DriverError(vm: vm, host: request.to, "cannot register: renaming \(staging) failed")
    }
    logger.info("registered", metadata: ["vm": "\(vm)", "host": "\(request.to)"])
  }

  func removeSourceSteps(_ request: MigrationRequest) async throws {
    let vm = request.vm
    let registered = layout.vmDirectory(vm, on: request.to)
    guard let copy = try? VMDefinition.load(layout.definitionFile(vm, on: request.to)), copy.role == .active else {
      throw DriverError(
        vm: vm, host: request.to, "the destination copy is not registered; the source is kept",
        hint: "copy and register first")
    }
    for move in loadMoves(registered) {
      let copied = layout.diskImage(move.file, in: move.toDatastore, on: request.to)
      let size = ((try? FileManager.default.attributesOfItem(atPath: copied))?[.size] as? NSNumber)?.int64Value
      guard size == move.bytes else {
        throw DriverError(
          vm: vm, host: request.to, "the copy of disk \(move.file) is missing or has the wrong size; the source is kept"
        )
      }
    }
    if lab.instance(vm: vm, on: request.from) != nil {
      throw DriverError(vm: vm, host: request.from, "the source copy is running; refusing to remove it")
    }
    for move in loadMoves(registered) {
      try? FileManager.default.removeItem(atPath: layout.diskImage(move.file, in: move.fromDatastore, on: request.from))
    }
    let source = layout.vmDirectory(vm, on: request.from)
    if FileManager.default.fileExists(atPath: source) {
      try FileManager.default.removeItem(atPath: source)
    }
    try? FileManager.default.removeItem(atPath: registered + "/" + Self.diskMovesFile)
    logger.info("removed source copy", metadata: ["vm": "\(vm)", "host": "\(request.from)"])
  }

  func discardDestinationSteps(_ request: MigrationRequest, reservation: Reservation) async throws {
    let vm = request.vm
    let staging = (try? ReservationToken(reservation).staging) ?? layout.stagingDirectory(vm, on: request.to)
    let registered = layout.vmDirectory(vm, on: request.to)
    let sourceStillThere = FileManager.default.fileExists(atPath: layout.definitionFile(vm, on: request.from))
    guard sourceStillThere else {
      throw DriverError(
        vm: vm, host: request.to, "the source copy is gone; the destination copy is the only one and is kept")
    }
    let moves = loadMoves(staging) + loadMoves(registered)
    for move in moves {
      let original = layout.diskImage(move.file, in: move.fromDatastore, on: request.from)
      guard FileManager.default.fileExists(atPath: original) else { continue }
      let copied = layout.diskImage(move.file, in: move.toDatastore, on: request.to)
      try? FileManager.default.removeItem(atPath: copied)
      try? FileManager.default.removeItem(atPath: copied + ".partial")
    }
    try? FileManager.default.removeItem(atPath: staging)
    if FileManager.default.fileExists(atPath: registered) {
      if let instance = lab.instance(vm: vm, on: request.to) { await lab.stop(instance, gracePeriod: 0) }
      try FileManager.default.removeItem(atPath: registered)
    }
    logger.info("discarded destination copy", metadata: ["vm": "\(vm)", "host": "\(request.to)"])
  }

  private func saveMoves(_ moves: [DiskMove], in directory: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try AtomicFile.write(encoder.encode(moves), to: directory + "/" + Self.diskMovesFile)
  }

  private func loadMoves(_ directory: String) -> [DiskMove] {
    guard let data = FileManager.default.contents(atPath: directory + "/" + Self.diskMovesFile) else { return [] }
    return (try? JSONDecoder().decode([DiskMove].self, from: data)) ?? []
  }
}
