import BallastDriverSupport
import BallastEngine
import BallastModel
import Foundation
import Testing

@testable import BallastQEMU

/// Issue 11, class 4: VM, host and datastore names never escape the lab's folder and never
/// add QEMU options.
@Suite("Hostile names in the lab layout and QEMU's command line")
struct HostileNameLayoutTests {
  static let names = ["../../x", "..", ".hidden", "a/b", "/etc", "inj,foo=bar", "victim,x", "victim,,x", "50%", "v m"]

  @Test func everyPathStaysOneComponentUnderTheRoot() {
    let layout = LabLayout(root: "/lab")
    for host in Self.names {
      for vm in Self.names {
        let paths = [
          layout.vmDirectory(vm, on: host), layout.stagingDirectory(vm, on: host), layout.qmpSocket(vm, on: host),
          layout.diskImage(vm, in: host, on: host), layout.mount(vm, on: host),
          layout.backingDirectory(of: Datastore(name: vm, shared: true), localHost: nil),
        ]
        for path in paths {
          #expect(URL(fileURLWithPath: path).standardizedFileURL.path == path, "\(path) has a .. or a .")
          #expect(path.hasPrefix("/lab/"))
        }
        #expect(layout.vmDirectory(vm, on: host).split(separator: "/").count == 5)
      }
    }
    #expect(layout.vmDirectory("victim,x", on: "h") != layout.vmDirectory("victim,,x", on: "h"))
  }

  @Test func listingsReadTheNamesBack() throws {
    let root = "/tmp/bq-names-" + UUID().uuidString.prefix(8).lowercased()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let layout = LabLayout(root: root)
    for name in Self.names {
      try FileManager.default.createDirectory(
        atPath: layout.vmDirectory(name, on: "../h"), withIntermediateDirectories: true)
      try FileManager.default.createDirectory(
        atPath: layout.stagingDirectory(name, on: "../h"), withIntermediateDirectories: true)
    }
    #expect(layout.hostNames() == ["../h"])
    #expect(layout.vmNames(on: "../h") == Self.names.sorted())
  }

  /// QEMU splits option values on single commas and reads `,,` as one comma.
  static func qemuOptions(_ text: String) -> [String] {
    var options: [String] = []
    var current = ""
    var characters = Array(text)[...]
    while let character = characters.popFirst() {
      if character == "," {
        if characters.first == "," {
          current.append(",")
          characters = characters.dropFirst()
        } else {
          options.append(current)
          current = ""
        }
      } else {
        current.append(character)
      }
    }
    return options + [current]
  }

  @Test func namesCannotAddQEMUOptions() {
    let definition = VMDefinition(
      name: "inj,foo=bar", powerState: .running, vcpus: 1, memoryBytes: 64 << 20, cpuModel: "qemu64",
      disks: [DiskImage(datastore: "store,cache=none", file: "d,x.qcow2", sizeBytes: 1 << 20)],
      workload: GuestWorkload(vm: labVM("inj,foo=bar")), mac: VMDefinition.mac(for: "inj,foo=bar"))
    let line = QEMUCommandLine(
      definition: definition, host: "h,readonly=on", layout: LabLayout(root: "/lab,x"),
      options: QEMULabOptions.fromEnvironment(), kernel: "/k")
    let arguments = line.arguments(.run)
    let name = arguments.firstIndex(of: "-name").map { arguments[$0 + 1] } ?? ""
    #expect(Self.qemuOptions(name) == ["ballast-inj,foo=bar", "process=ballast-inj,foo=bar"])
    let drive = arguments.firstIndex(of: "-drive").map { arguments[$0 + 1] } ?? ""
    let driveOptions = Self.qemuOptions(drive)
    #expect(driveOptions.first == "file=/lab,x/hosts/h,readonly=on/datastores/store,cache=none/d,x.qcow2")
    #expect(driveOptions.dropFirst() == ["format=qcow2", "if=virtio", "index=0", "cache=writeback"])
    for (i, argument) in arguments.enumerated() where argument == "-chardev" || argument == "-qmp" {
      let options = Self.qemuOptions(arguments[i + 1])
      #expect(options.filter { $0.contains("/lab,x/hosts/h,readonly=on/vms/inj,foo=bar/") }.count == 1)
      #expect(options.allSatisfy { !$0.hasPrefix("readonly") && !$0.hasPrefix("foo") && !$0.hasPrefix("x") })
    }
    let serials = arguments.indices.filter { arguments[$0] == "-serial" }.map { arguments[$0 + 1] }
    #expect(serials.first == "file:/lab,x/hosts/h,readonly=on/vms/inj,foo=bar/console.log", "taken whole by QEMU")
  }

  @Test func namesWhoseSocketsCannotExistAreRefusedUpFront() {
    let cluster = Cluster(
      name: "long", driver: .qemu, labRoot: "/tmp/" + String(repeating: "r", count: 40), datastores: [],
      hosts: [
        Host(
          name: String(repeating: "h", count: 30), cores: 2, memory: .mib(512), cpuModel: "qemu64",
          migrationBandwidth: .gbit(1), datastores: [])
      ],
      vms: [labVM(String(repeating: "v", count: 30), on: String(repeating: "h", count: 30))])
    #expect {
      _ = try QEMULab(cluster: cluster, baseDirectory: "/tmp", logger: testLogger)
    } throws: { error in
      "\(error)".contains("UNIX socket allows")
    }
  }
}

extension QEMUIntegration {
  @Suite("Hostile names on a real lab")
  struct HostileNameLabTests {
    @Test("VMs named ../../x, inj,foo=bar, victim,x and victim,,x start inside the lab and move live")
    func hostileNamesRunInsideTheLab() async throws {
      let names = ["../../escape", "inj,foo=bar", "victim,x", "victim,,x"]
      let vms = names.map { labVM($0, memory: .mib(32), disks: [Disk(datastore: "shared", size: .mib(8))]) }
      try await TestLab.with(vms: vms) { test in
        let root = test.lab.layout.root
        let parent = (root as NSString).deletingLastPathComponent
        for name in names {
          #expect(test.lab.instance(vm: name, on: "host-a") != nil, "\(name) is not running")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/hosts").sorted() == ["host-a", "host-b"])
        #expect(!FileManager.default.fileExists(atPath: parent + "/escape"))
        #expect(!FileManager.default.fileExists(atPath: root + "/escape"))
        #expect(!FileManager.default.fileExists(atPath: root + "/hosts/escape"))
        let consoles = names.map { test.lab.layout.consoleLog($0, on: "host-a") }
        #expect(consoles.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "each console log where expected")
        let inventory = try await test.driver.inventory()
        #expect(Set(inventory.vms.map(\.name)) == Set(names))
        _ = try await test.lab.waitForGuest(vm: "victim,,x", on: "host-a")
        let plan = MigrationPlan(
          trigger: .manual, cluster: "test-lab", policy: "test",
          moves: [
            PlannedMove(
              vm: "victim,,x", from: "host-a", to: "host-b", kind: .live, reason: "test",
              predicted: PredictedCost(seconds: 1, downtimeMs: 100, bytes: 1, rounds: 1, converges: true),
              plannedStartSeconds: 0)
          ], rejected: [],
          before: ClusterView(inventory, weights: MetricWeights()),
          after: ClusterView(inventory, weights: MetricWeights()))
        let engine = MigrationEngine(
          driver: test.driver, journal: InMemoryJournal(), clock: SystemClock(), policy: Policy(), logger: testLogger)
        let summary = await engine.execute(plan)
        #expect(summary.done == 1, "\(summary.results.map(\.outcome))")
        #expect(try await test.driver.locate(vm: "victim,,x") == [VMPlacement(host: "host-b", state: .running)])
        #expect(try await test.driver.locate(vm: "victim,x") == [VMPlacement(host: "host-a", state: .running)])
      }
    }
  }
}
