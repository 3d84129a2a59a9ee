import ArgumentParser
import BallastEngine
import BallastModel
import BallastRuntime

/// `ballast status`: per-host utilization, VM counts and the cluster's imbalance.
struct StatusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show each host's CPU and memory utilization, its VMs, and the cluster's imbalance.",
    discussion: """
      CPU utilization is Σ(vCPUs × CPU usage) of running VMs / cores; memory utilization is \
      Σ(allocated memory of running VMs) / memory. For a QEMU lab or a libvirt cluster the figures \
      are the live ones: where each VM runs now and its measured CPU (QEMU: /proc; libvirt: cpu.time \
      of one bulk statistics call per host). Imbalance is the standard deviation of the hosts' \
      weighted utilization over active hosts (policy weights, default 0.5/0.5).
      """)

  @OptionGroup var files: ClusterOptions

  @Flag(name: .long, help: "Print {\"hosts\":[…],\"imbalance\":…} as JSON.")
  var json = false

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Show the simulated hypervisors' state in this file (see migrate and drain) instead of the cluster file's.",
      valueName: "file"))
  var state: String?

  @Flag(name: .long, help: "Also list each VM: its host, state, vCPUs, CPU and memory in use (JSON: \"vms\").")
  var vms = false

  func run() async throws {
    var (cluster, policy) = try files.load()
    if let state {
      guard let saved = try FileStateStore(path: state).load() else {
        throw CommandFailure("no simulated state in \(state) yet: migrate, drain or balance with --state write it")
      }
      try saved.check(against: cluster, stateFile: state)
      cluster = saved.cluster
    } else {
      // A real backend's state: where each VM runs now, its measured CPU and memory.
      cluster = try await DriverFactory.currentCluster(cluster, clusterFile: files.cluster, policyFile: files.policy)
    }
    let report = StatusReport(cluster: cluster, policy: policy, listVMs: vms)
    print(json ? try JSONOutput.string(report) : report.text(cluster: cluster, policy: policy))
  }
}

/// What `status` reports; encoded as its `--json` output.
struct StatusReport: Encodable {
  struct HostLine: Encodable {
    var name: String
    var state: HostState
    var cpu: Double
    var memory: Double
    var vmsRunning: Int
    var vmsStopped: Int
  }

  /// One VM, with `--vms`.
  struct VMLine: Encodable {
    var name: String
    var host: String
    var state: PowerState
    var vcpus: Int
    /// Fraction of its vCPUs busy (measured, for a real backend).
    var cpu: Double
    /// Fraction of its memory in use.
    var memory: Double
  }

  var cluster: String
  var policy: String
  var hosts: [HostLine]
  var vms: [VMLine]?
  var imbalance: Double
  var threshold: Double

  init(cluster: Cluster, policy: Policy, listVMs: Bool = false) {
    let loads = cluster.hostLoads()
    self.cluster = cluster.name
    self.policy = policy.name
    self.hosts = zip(cluster.hosts, loads).map { host, load in
      let u = load.utilization(of: host)
      return HostLine(
        name: host.name, state: host.state, cpu: JSONOutput.rounded(u.cpu), memory: JSONOutput.rounded(u.memory),
        vmsRunning: load.running, vmsStopped: load.stopped)
    }
    self.vms =
      listVMs
      ? cluster.vms.map { vm in
        VMLine(
          name: vm.name, host: vm.host, state: vm.state, vcpus: vm.vcpus, cpu: JSONOutput.rounded(vm.usage.cpu),
          memory: JSONOutput.rounded(vm.usage.memory))
      } : nil
    self.imbalance = JSONOutput.rounded(Imbalance.of(cluster, weights: policy.weights))
    self.threshold = policy.threshold
  }

  func text(cluster: Cluster, policy: Policy) -> String {
    let running = hosts.reduce(0) { $0 + $1.vmsRunning }
    let maintenance = hosts.filter { $0.state == .maintenance }.count
    var out = "Cluster \(cluster.name): \(hosts.count) hosts"
    out += maintenance > 0 ? " (\(maintenance) in maintenance)" : ""
    out += ", \(cluster.vms.count) VMs (\(running) running, \(cluster.vms.count - running) stopped or suspended)\n\n"
    var table = TextTable(["HOST", "STATE", "CPU", "MEMORY", "VMS run/off"])
    for host in hosts {
      table.add([
        host.name, host.state.rawValue, TextTable.bar(host.cpu), TextTable.bar(host.memory),
        "\(host.vmsRunning)/\(host.vmsStopped)",
      ])
    }
    out += table.render() + "\n\n"
    if let vms {
      var list = TextTable(["VM", "HOST", "STATE", "VCPUS", "CPU", "MEMORY"])
      list.rightAligned = [3]
      for vm in vms {
        list.add([
          vm.name, vm.host, vm.state.rawValue, "\(vm.vcpus)", TextTable.bar(vm.cpu, width: 10),
          TextTable.bar(vm.memory, width: 10),
        ])
      }
      out += list.render() + "\n\n"
    }
    let verdict =
      imbalance > threshold
      ? "above the \(policy.name) policy's threshold \(threshold): a balance round would plan moves"
      : "within the \(policy.name) policy's threshold \(threshold)"
    out += "Imbalance: \(String(format: "%.3f", imbalance)) — \(verdict)"
    return out
  }
}
