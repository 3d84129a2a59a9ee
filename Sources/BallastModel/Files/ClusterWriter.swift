import Foundation

/// Writes a ``Cluster`` as a readable, deterministic cluster file.
public enum ClusterWriter {
  /// The YAML text of `cluster`, in the format ``ClusterFile`` reads back to the same value.
  public static func yaml(_ cluster: Cluster) -> String {
    var out = "version: \(cluster.version)\nname: \(quoted(cluster.name))\n"
    if cluster.driver != .simulated { out += "driver: \(cluster.driver.rawValue)\n" }
    if let root = cluster.labRoot { out += "labRoot: \(quoted(root))\n" }
    out += "datastores:\n"
    for store in cluster.datastores {
      var fields = ["name: \(quoted(store.name))", "shared: \(store.shared)"]
      if let path = store.path { fields.append("path: \(quoted(path))") }
      out += "  - {\(fields.joined(separator: ", "))}\n"
    }
    out += "hosts:\n"
    for host in cluster.hosts {
      out += "  - name: \(quoted(host.name))\n"
      out += "    cores: \(host.cores)\n"
      out += "    memory: \(host.memory.exactDescription)\n"
      out += "    cpuModel: \(quoted(host.cpuModel))\n"
      if !host.cpuFeatures.isEmpty { out += "    cpuFeatures: \(list(host.cpuFeatures))\n" }
      out += "    migrationBandwidth: \(host.migrationBandwidth.exactDescription)\n"
      out += "    datastores: \(list(host.datastores))\n"
      out += "    state: \(host.state.rawValue)\n"
    }
    out += cluster.vms.isEmpty ? "vms: []\n" : "vms:\n"
    for vm in cluster.vms { out += vmYAML(vm) }
    if !cluster.rules.isEmpty { out += "rules:\n" + cluster.rules.map(ruleYAML).joined() }
    return out
  }

  static func ruleYAML(_ rule: PlacementRule) -> String {
    var fields = ["name: \(quoted(rule.name))", "type: \(rule.kind.rawValue)"]
    if !rule.vms.isEmpty { fields.append("vms: \(list(rule.vms))") }
    if !rule.selector.isEmpty {
      let pairs = rule.selector.sorted { $0.key < $1.key }.map { "\(quoted($0.key)): \(quoted($0.value))" }
      fields.append("selector: {\(pairs.joined(separator: ", "))}")
    }
    if !rule.hosts.isEmpty { fields.append("hosts: \(list(rule.hosts))") }
    if rule.kind == .vmHost { fields.append("mode: \(rule.mode.rawValue)") }
    return "  - {\(fields.joined(separator: ", "))}\n"
  }

  static func vmYAML(_ vm: VM) -> String {
    var out = "  - name: \(quoted(vm.name))\n"
    out += "    host: \(quoted(vm.host))\n"
    out += "    state: \(vm.state.rawValue)\n"
    out += "    vcpus: \(vm.vcpus)\n"
    out += "    memory: \(vm.memory.exactDescription)\n"
    out += "    cpuModel: \(quoted(vm.cpuModel))\n"
    if !vm.cpuFeatures.isEmpty { out += "    cpuFeatures: \(list(vm.cpuFeatures))\n" }
    if !vm.disks.isEmpty {
      let disks = vm.disks.map { disk in
        var fields = ["datastore: \(quoted(disk.datastore))", "size: \(disk.size.exactDescription)"]
        if let path = disk.path { fields.append("path: \(quoted(path))") }
        return "{\(fields.joined(separator: ", "))}"
      }
      out += "    disks: [\(disks.joined(separator: ", "))]\n"
    }
    out += "    usage: {cpu: \(number(vm.usage.cpu)), memory: \(number(vm.usage.memory))}\n"
    if !vm.samples.isEmpty {
      out += "    samples:\n"
      for s in vm.samples {
        out += "      - {at: \(number(s.at)), cpu: \(number(s.cpu)), memory: \(number(s.memory))}\n"
      }
    }
    if let trace = vm.trace { out += "    trace: \(quoted(trace))\n" }
    if vm.dirtyRate.bytesPerSecond > 0 { out += "    dirtyRate: \(vm.dirtyRate.exactDescription)\n" }
    if vm.workingSet.bytes > 0 { out += "    workingSet: \(vm.workingSet.exactDescription)\n" }
    if !vm.labels.isEmpty {
      let labels = vm.labels.sorted { $0.key < $1.key }.map { "\(quoted($0.key)): \(quoted($0.value))" }
      out += "    labels: {\(labels.joined(separator: ", "))}\n"
    }
    return out
  }

  static func number(_ x: Double) -> String { UnitParser.wholeNumber(x) ?? String(x) }

  static func list(_ items: [String]) -> String { "[\(items.map(quoted).joined(separator: ", "))]" }

  /// `text` as a plain scalar when that reads back as the same string, else double-quoted
  /// with every character YAML would fold, trim or refuse escaped: what the reader reads
  /// back is exactly `text`, whatever it holds (newlines, quotes, `:`, `#`, leading spaces,
  /// any Unicode).
  static func quoted(_ text: String) -> String {
    let plain = text.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
    let ambiguous = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"].contains(text.lowercased())
    if plain, let first = text.unicodeScalars.first, first.properties.isAlphabetic || ("0"..."9").contains(first),
      !ambiguous, Double(text) == nil, text.unicodeScalars.allSatisfy(isPrintable)
    {
      return text
    }
    var escaped = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\\": escaped += "\\\\"
      case "\"": escaped += "\\\""
      case "\n": escaped += "\\n"
      case "\t": escaped += "\\t"
      case "\r": escaped += "\\r"
      case _ where !isPrintable(scalar) || scalar.value == 0x85 || scalar.value == 0x2028 || scalar.value == 0x2029:
        let hex = String(scalar.value, radix: 16, uppercase: true)
        escaped +=
          scalar.value > 0xFFFF
          ? "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
          : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: escaped.unicodeScalars.append(scalar)
      }
    }
    return "\"\(escaped)\""
  }

  /// What YAML allows unescaped in a scalar (its `nb-char` minus the BOM).
  static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x20...0x7E, 0xA0...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: scalar.value != 0xFEFF
    default: false
    }
  }
}
