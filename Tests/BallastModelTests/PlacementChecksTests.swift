import BallastModel
import Foundation
import Testing

@Suite("Move checks: one vocabulary")
struct MoveCheckTests {
  @Test("every named check reads back from its name, and is stored as it")
  func namesRoundTrip() throws {
    for check in MoveCheck.named {
      #expect(MoveCheck(name: check.name) == check)
      let data = try JSONEncoder().encode(check)
      #expect(String(decoding: data, as: UTF8.self) == "\"\(check.name)\"")
      #expect(try JSONDecoder().decode(MoveCheck.self, from: data) == check)
    }
    #expect(Set(MoveCheck.named.map(\.name)).count == MoveCheck.named.count)
  }

  @Test("a name the vocabulary does not know is a driver's check")
  func driverChecks() throws {
    #expect(MoveCheck(name: "cpu-compare") == .driver("cpu-compare"))
    #expect(MoveCheck.driver("cpu-compare").name == "cpu-compare")
    let rejection = Rejection(vm: "a", host: "h1", check: .driver("cpu-compare"), reason: "libvirt says no")
    let json = String(decoding: try JSONEncoder().encode(rejection), as: UTF8.self)
    #expect(json.contains("\"filter\":\"cpu-compare\""))
    #expect(try JSONDecoder().decode(Rejection.self, from: Data(json.utf8)) == rejection)
  }

  @Test("the planner's names are the ones plans have always printed")
  func plannerNames() {
    #expect(
      [MoveCheck.hostState, .vmHost, .concurrency, .capacity, .antiAffinity, .affinity].map(\.name) == [
        "host-state", "vm-host", "concurrency", "capacity", "anti-affinity", "affinity",
      ])
    #expect(MoveCheck.liveEligibility.map(\.name) == ["storage", "cpu-compatibility", "convergence"])
  }
}

@Suite("Placement checks shared by planning and stage 0")
struct PlacementChecksTests {
  let overcommit = Overcommit(cpu: 2, memory: 1)

  func shortfall(
    memory: Double, vcpus: Int, running: Bool = true, allocatedMemory: Double = 0, allocatedVCPUs: Int = 0
  )
    -> CapacityCheck.Shortfall?
  {
    CapacityCheck.shortfall(
      memory: memory, vcpus: vcpus, running: running, hostMemory: 64, hostCores: 8, allocatedMemory: allocatedMemory,
      allocatedVCPUs: allocatedVCPUs, overcommit: overcommit)
  }

  @Test("a running VM fits exactly what is left, and not a byte or a vCPU more")
  func capacityLimits() {
    #expect(shortfall(memory: 32, vcpus: 8, allocatedMemory: 32, allocatedVCPUs: 8) == nil)
    #expect(shortfall(memory: 34, vcpus: 8, allocatedMemory: 32, allocatedVCPUs: 8) == .memory(free: 32))
    #expect(shortfall(memory: 32, vcpus: 9, allocatedMemory: 32, allocatedVCPUs: 8) == .vcpus(free: 8, limit: 16))
  }

  @Test("a VM that is off takes nothing, but must be able to start one day")
  func capacityOfAnOffVM() {
    #expect(shortfall(memory: 64, vcpus: 16, running: false, allocatedMemory: 64, allocatedVCPUs: 16) == nil)
    #expect(shortfall(memory: 65, vcpus: 4, running: false) == .memoryToStart(limit: 64))
    #expect(shortfall(memory: 8, vcpus: 17, running: false) == .vcpusToStart(limit: 16))
  }

  @Test("capacity sentences name the VM's need and the host's limit")
  func capacitySentences() {
    let vm = VM(
      name: "db", host: "h0", state: .running, vcpus: 12, memory: .gib(48), cpuModel: "Cascadelake-Server", disks: [])
    let host = Host(
      name: "h1", cores: 8, memory: .gib(64), cpuModel: "Cascadelake-Server", migrationBandwidth: .gbit(10),
      datastores: [])
    #expect(
      CapacityCheck.sentence(.memory(free: ByteCount.gib(16).double), vm: vm, host: host, overcommit: overcommit)
        == "needs 48GiB, h1 has 16GiB free under a 1.0× memory overcommit")
    #expect(
      CapacityCheck.sentence(.vcpus(free: 4, limit: 16), vm: vm, host: host, overcommit: overcommit)
        == "needs 12 vCPUs, h1 has 4 free of 16 (8 cores under a 2.0× CPU overcommit)")
  }

  @Test("a host reaches a disk only on a shared datastore it mounts")
  func storage() {
    let stores = [Datastore(name: "san", shared: true), Datastore(name: "local-h0", shared: false)]
    let disks = [
      Disk(datastore: "san", size: .gib(10)), Disk(datastore: "local-h0", size: .gib(20)),
      Disk(datastore: "nfs", size: .gib(5)),
    ]
    let vm = VM(
      name: "a", host: "h0", state: .running, vcpus: 1, memory: .gib(1), cpuModel: "Cascadelake-Server", disks: disks)
    let mountsSAN = Host(
      name: "h1", cores: 8, memory: .gib(64), cpuModel: "Cascadelake-Server", migrationBandwidth: .gbit(10),
      datastores: ["san"])
    let mountsAll = Host(
      name: "h0", cores: 8, memory: .gib(64), cpuModel: "Cascadelake-Server", migrationBandwidth: .gbit(10),
      datastores: ["san", "local-h0", "nfs"])
    #expect(StorageCheck.disksToCopy(vm, to: mountsSAN, datastores: stores) == Array(disks.dropFirst()))
    // A local datastore is not reached where it is even by a host mounting it; an unknown one never.
    #expect(StorageCheck.disksToCopy(vm, to: mountsAll, datastores: stores) == Array(disks.dropFirst()))
    #expect(
      StorageCheck.sentence(disks: Array(disks.dropFirst()), vm: "a", host: "h1")
        == "a's disks are on local-h0 and nfs, not on shared storage h1 mounts")
  }

  @Test("a destination refuses the VM's own host first, then any host that is not active")
  func hostState() {
    #expect(HostStateCheck.refusal(destinationActive: true, isVMsHost: false) == nil)
    #expect(HostStateCheck.refusal(destinationActive: false, isVMsHost: true) == .sameHost)
    #expect(HostStateCheck.refusal(destinationActive: false, isVMsHost: false) == .maintenance)
    #expect(HostStateCheck.sentence(.maintenance, vm: "a", host: "hm") == "hm is in maintenance and takes no VMs")
  }

  @Test("CPU compatibility lists what the destination lacks")
  func cpu() {
    let rome = Host(
      name: "h1", cores: 8, memory: .gib(64), cpuModel: "EPYC-Rome", migrationBandwidth: .gbit(10), datastores: [])
    let missing = CPUCheck.missingFeatures(vmModel: "Cascadelake-Server", on: rome)
    #expect(missing.contains("avx512f"))
    #expect(CPUCheck.missingFeatures(vmModel: "EPYC", on: rome).isEmpty)
    #expect(
      CPUCheck.sentence(
        vm: "a", vmModel: "Cascadelake-Server", host: "h1", hostModel: "EPYC-Rome", missing: ["x", "y"])
        == "a was started as Cascadelake-Server and h1 (EPYC-Rome) lacks x and y")
  }
}
