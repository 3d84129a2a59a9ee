import Foundation

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// What a host's capabilities XML says: its UUID and CPU.
struct HostDescription: Sendable, Hashable {
  var uuid: String
  var cpuModel: String?
  var cpuVendor: String?
  var cpuFeatures: [String]
  /// The host CPU as a `<cpu>` element, for expanding its model's features.
  var cpuXML: String?

  init(capabilitiesXML xml: String) throws {
    let document = try XMLDocument(xmlString: xml, options: [])
    guard let host = document.rootElement()?.child("host") else {
      throw LibvirtXMLError("capabilities without a <host> element")
    }
    uuid = host.childText("uuid") ?? ""
    let cpu = host.child("cpu")
    cpuModel = cpu?.childText("model")
    cpuVendor = cpu?.childText("vendor")
    cpuFeatures = cpu?.children("feature").compactMap { $0.attributeText("name") } ?? []
    cpuXML = cpu?.xmlString
  }
}

/// A storage pool as its XML describes it.
struct PoolDescription: Sendable, Hashable {
  var name: String
  /// libvirt's pool type (`dir`, `fs`, `netfs`, `logical`, `iscsi`, `rbd`, `gluster`, …).
  var type: String
  /// The folder or device prefix volumes live under, when it has one.
  var targetPath: String?

  /// Pool types whose volumes every host that defines the pool sees: network storage.
  static let networkTypes: Set<String> = [
    "netfs", "iscsi", "iscsi-direct", "rbd", "sheepdog", "gluster", "vstorage", "mpath",
  ]

  var isNetworkStorage: Bool { Self.networkTypes.contains(type) }

  init(xml: String) throws {
    let document = try XMLDocument(xmlString: xml, options: [])
    guard let root = document.rootElement(), root.name == "pool" else {
      throw LibvirtXMLError("a pool description without a <pool> element")
    }
    name = root.childText("name") ?? ""
    type = root.attributeText("type") ?? "dir"
    targetPath = root.child("target")?.childText("path")
  }
}

/// The features a `<cpu>` element lists (as `virConnectBaselineHypervisorCPU` expands them).
enum CPUFeatureList {
  static func parse(_ xml: String) throws -> [String] {
    let document = try XMLDocument(xmlString: xml, options: [])
    guard let cpu = document.rootElement() else { return [] }
    return cpu.children("feature").compactMap { feature in
      let policy = feature.attributeText("policy") ?? "require"
      return policy == "require" || policy == "force" ? feature.attributeText("name") : nil
    }.sorted()
  }
}
