import BallastEngine
import BallastModel
import CLibvirt
import Foundation

#if canImport(FoundationXML)
  import FoundationXML
#endif

extension LibvirtDriver {
  // MARK: Power

  /// Asks the guest to shut down (ACPI) and waits; destroys it after `timeout`.
  public func shutdown(vm: String, on host: String, timeout: TimeSpan) async throws {
    let poll = options.shutdownPoll
    let seconds = timeout.seconds
    try await onHost(host, vm: vm, "shutting the VM down") { connection in
      guard let domain = try connection.domain(named: vm) else {
        throw DriverError(vm: vm, host: host, "the VM is not on this host")
      }
      let deadline = Date().addingTimeInterval(seconds)
      var asked = false
      while !DomainStatus(state: try domain.state().state, reason: 0, job: nil).isOff {
        if Date() >= deadline {
          try domain.destroy()
          break
        }
        if !asked {
          try domain.shutdown()
          asked = true
        }
        Thread.sleep(forTimeInterval: poll)
      }
    }
    logger.info("shut down", metadata: ["vm": "\(vm)", "host": "\(host)"])
  }

  /// Starts the VM's definition on `host`; nothing to do when it runs already.
  public func start(vm: String, on host: String) async throws {
    try await onHost(host, vm: vm, "starting the VM") { connection in
      guard let domain = try connection.domain(named: vm) else {
        throw DriverError(vm: vm, host: host, "the VM is not defined on this host")
      }
      let status = DomainStatus(state: try domain.state().state, reason: 0, job: nil)
      if status.isRunning { return }
      if status.isPaused { return try domain.resume() }
      try domain.start()
    }
    logger.info("started", metadata: ["vm": "\(vm)", "host": "\(host)"])
  }

  // MARK: Stage 2: copy

  /// Copies each disk the destination cannot see into a local pool there, as a volume of the
  /// same name, verified by SHA-256.
  public func copyFiles(_ request: MigrationRequest, reservation: Reservation) async throws -> CopyResult {
    let started = Date()
    var bytes: Int64 = 0
    var checksums: [String: String] = [:]
    for disk in request.disksToCopy {
      guard let path = disk.path else {
        throw DriverError(vm: request.vm, host: request.from, "a disk on \(disk.datastore) has no path to copy")
      }
      let pool = try await destinationPool(for: disk, request: request)
      let from = try await connection(request.from, vm: request.vm)
      let to = try await connection(request.to, vm: request.vm)
      let outcome = try await onHost(request.to, vm: request.vm, "copying disk \(path) into pool \(pool)") { _ in
        guard let source = try from.volume(path: path) else {
          throw DriverError(
            vm: request.vm, host: request.from, "disk \(path) is not a volume of a libvirt storage pool",
            hint: "define a storage pool for its folder on \(request.from), so libvirt can copy it")
        }
        guard let target = try to.storagePool(named: pool) else {
          throw DriverError(vm: request.vm, host: request.to, "storage pool \(pool) is gone")
        }
        if let leftover = try target.volume(named: source.name) { try leftover.delete() }
        let (capacity, _) = try source.sizes()
        let volume = try target.createVolume(
          VolumeXML.copy(of: source.name, capacity: capacity, format: Self.format(path)))
        return try VolumeCopy.copy(source, from: from, into: volume, on: to)
      }
      bytes += outcome.bytes
      checksums[URL(fileURLWithPath: path).lastPathComponent] = outcome.checksum
    }
    return CopyResult(bytes: Double(bytes), seconds: Date().timeIntervalSince(started), checksums: checksums)
  }

  /// The destination's local pool a disk is copied to: one with the same name as the disk's
  /// pool, else the first local pool by name. The same answer every time, so `register` and a
  /// later `reconcile` find the copy.
  func destinationPool(for disk: Disk, request: MigrationRequest) async throws -> String {
    let shared = Set(declared.datastores.filter(\.shared).map(\.name))
    let pools: [PoolDescription] = try await onHost(request.to, vm: request.vm, "listing storage pools") {
      connection in try connection.storagePools().filter(\.isActive).map { try PoolDescription(xml: $0.xml()) }
    }
    let local = pools.filter { !$0.isNetworkStorage && !shared.contains($0.name) }.sorted { $0.name < $1.name }
    let sourcePool = disk.datastore.split(separator: "@").first.map(String.init)
    guard let pool = local.first(where: { $0.name == sourcePool }) ?? local.first else {
      throw DriverError(
        vm: request.vm, host: request.to, "the host has no local storage pool to copy the VM's disks into",
        hint: "define one (virsh pool-define-as NAME dir --target FOLDER) or move the VM to another host")
    }
    return pool.name
  }

  static func format(_ path: String) -> String {
    path.hasSuffix(".qcow2") ? "qcow2" : "raw"
  }

  // MARK: Stage 3: register

  /// Defines the VM on the destination (off) with its copied disks' new paths.
  public func register(_ request: MigrationRequest, reservation: Reservation) async throws {
    var moved: [String: (path: String, pool: String)] = [:]
    for disk in request.disksToCopy {
      guard let path = disk.path else { continue }
      let pool = try await destinationPool(for: disk, request: request)
      let name = URL(fileURLWithPath: path).lastPathComponent
      let newPath: String = try await onHost(request.to, vm: request.vm, "finding the copied disk") { connection in
        guard let volume = try connection.storagePool(named: pool)?.volume(named: name) else {
          throw DriverError(vm: request.vm, host: request.to, "the copy of \(name) is not in pool \(pool)")
        }
        return try volume.path()
      }
      moved[path] = (newPath, pool)
    }
    let xml: String = try await onHost(request.from, vm: request.vm, "reading the VM's definition") { connection in
      guard let domain = try connection.domain(named: request.vm) else {
        throw DriverError(vm: request.vm, host: request.from, "the VM is not on its source")
      }
      return try domain.xml(inactive: true, migratable: true)
    }
    let rewritten = try DomainXMLRewrite.movingDisks(xml, to: moved)
    try await onHost(request.to, vm: request.vm, "defining the VM") { connection in
      _ = try connection.define(rewritten)
    }
    logger.info("registered", metadata: ["vm": "\(request.vm)", "host": "\(request.to)"])
  }

  // MARK: Stage 4: commitment

  /// Undefines the VM on its source and deletes the source volumes of the disks that were
  /// copied, once the destination holds its definition.
  public func removeSource(_ request: MigrationRequest) async throws {
    let placements = try await locate(vm: request.vm)
    guard placements.contains(where: { $0.host == request.to }) else {
      throw DriverError(
        vm: request.vm, host: request.to, "the destination holds no definition of the VM; the source is kept")
    }
    let paths = request.disksToCopy.compactMap(\.path)
    try await onHost(request.from, vm: request.vm, "removing the source copy") { connection in
      if let domain = try connection.domain(named: request.vm) {
        guard DomainStatus(state: try domain.state().state, reason: 0, job: nil).isOff else {
          throw DriverError(vm: request.vm, host: request.from, "the VM runs on its source; it is not removed")
        }
        try domain.undefine()
      }
      for path in paths { try connection.volume(path: path)?.delete() }
    }
    logger.info("source removed", metadata: ["vm": "\(request.vm)", "host": "\(request.from)"])
  }

  // MARK: Rollback

  /// Removes what a cold move created on the destination (definition, copied volumes) while
  /// the source still holds the VM and its disks.
  public func discardDestination(_ request: MigrationRequest, reservation: Reservation) async throws {
    let placements = try await locate(vm: request.vm)
    guard placements.contains(where: { $0.host == request.from }) else {
      if placements.contains(where: { $0.host == request.to }) {
        throw DriverError(
          vm: request.vm, host: request.to, "the destination holds the only copy of the VM; it is kept",
          hint: "run `ballast reconcile`")
      }
      return
    }
    if let copy = placements.first(where: { $0.host == request.to }) {
      guard copy.state == .stopped || copy.state == .incoming else {
        throw DriverError(
          vm: request.vm, host: request.to, "the destination's copy is \(copy.state); it is not removed")
      }
      try await removeDestinationDomain(request)
    }
    for disk in request.disksToCopy {
      guard let path = disk.path else { continue }
      let pool = try await destinationPool(for: disk, request: request)
      let name = URL(fileURLWithPath: path).lastPathComponent
      let from = try await connection(request.from, vm: request.vm)
      try await onHost(request.to, vm: request.vm, "removing the copied disk") { connection in
        guard try from.volume(path: path) != nil else { return }  // never delete a disk's only copy
        try connection.storagePool(named: pool)?.volume(named: name)?.delete()
      }
    }
  }
}

/// Volume definitions Ballast writes.
enum VolumeXML {
  /// An empty volume called `name` of `capacity` bytes in `format`, to upload a copy into.
  static func copy(of name: String, capacity: Int64, format: String) -> String {
    "<volume><name>\(SafeName.xmlEscaped(name))</name><capacity unit='bytes'>\(max(capacity, 0))</capacity>"
      + "<target><format type='\(SafeName.xmlEscaped(format))'/></target></volume>"
  }
}

/// Edits of a domain's XML for its new host.
enum DomainXMLRewrite {
  /// `xml` with each disk whose source file is a key of `moved` pointing at its new path (and
  /// pool, for volume disks).
  static func movingDisks(_ xml: String, to moved: [String: (path: String, pool: String)]) throws -> String {
    guard !moved.isEmpty else { return xml }
    let document = try XMLDocument(xmlString: xml, options: [])
    for disk in document.rootElement()?.child("devices")?.children("disk") ?? [] {
      guard let source = disk.child("source") else { continue }
      if let file = source.attributeText("file"), let target = moved[file] {
        source.attribute(forName: "file")?.stringValue = target.path
      } else if let pool = source.attributeText("pool"), let volume = source.attributeText("volume"),
        let target = moved.first(where: { URL(fileURLWithPath: $0.key).lastPathComponent == volume })?.value
      {
        _ = pool
        source.attribute(forName: "pool")?.stringValue = target.pool
      }
    }
    return document.xmlString
  }
}
