/// The check of a `driver: libvirt` file that needs the hypervisors: the VMs and hosts its rules
/// name must exist in the inventory.
extension ClusterFile {
  /// Problems of the rules in the cluster file at `path` (and the policy file at `policyPath`)
  /// against `inventory`: VMs or hosts they name that the daemons do not report, each with its
  /// file:line. Empty when every name is known.
  public static func ruleNameIssues(path: String, policyPath: String?, against inventory: Cluster) -> [FileIssue] {
    var issues: [FileIssue] = []
    if let text = try? readText(path) {
      let diagnostics = YAMLDiagnostics(file: path)
      if let root = diagnostics.compose(text),
        let read = ClusterReader(diagnostics: diagnostics).read(
          YAMLValue(node: root, path: "", diagnostics: diagnostics))
      {
        issues += PolicyFile.checkRules(
          read.cluster.rules, positions: read.origins.rules.positions, against: inventory,
          sourceMap: diagnostics.sourceMap)
      }
    }
    if let policyPath {
      do {
        _ = try PolicyFile.load(path: policyPath, cluster: inventory)
      } catch let error as FileErrors {
        issues += error.issues.filter { $0.keyPath.hasPrefix("rules[") }
      } catch {}
    }
    return issues
  }
}
