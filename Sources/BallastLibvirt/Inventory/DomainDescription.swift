import Foundation

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// What a domain's XML says that Ballast needs: size, CPU, disks, host-local devices.
struct DomainDescription: Sendable, Hashable {
  /// How the guest CPU is defined.
  enum CPUMode: String, Sendable, Hashable {
    /// A named model (`<cpu mode='custom'><model>Broadwell</model>`): movable to any host
    /// that offers its features.
    case custom
    /// The host's model as libvirt saw it when the VM started.
    case hostModel = "host-model"
    /// The host's CPU exactly: movable only to an identical CPU.
    case hostPassthrough = "host-passthrough"
    /// Everything the hypervisor can offer.
    case maximum
  }

  /// One disk as the XML names it.
  struct DiskSource: Sendable, Hashable {
    /// A file or block device path, when the disk has one.
    var path: String?
    /// `pool`/`volume` for `type='volume'` disks.
    var pool: String?
    var volume: String?
    /// The network protocol (`rbd`, `iscsi`, `nbd`, …) for `type='network'` disks.
    var networkProtocol: String?
    /// The guest's device name (`vda`).
    var target: String
    var readOnly: Bool
    /// Provisioned size, from the disk's volume, for a domain that is off (a running one
    /// reports it in its block statistics).
    var capacity: Int64?
  }

  var name: String
  var uuid: String
  var vcpus: Int
  var memoryBytes: Int64
  var cpuMode: CPUMode
  /// The model named in `<cpu>`, if any.
  var cpuModel: String?
  /// Features the XML requires (`require`/`force`) beyond the model.
  var requiredFeatures: [String]
  var disks: [DiskSource]
  /// The `<cpu>` element as written, for libvirt's CPU comparison.
  var cpuXML: String?

  /// Parses a domain's XML (`virDomainGetXMLDesc`).
  init(xml: String) throws {
    let document = try XMLDocument(xmlString: xml, options: [])
    guard let root = document.rootElement(), root.name == "domain" else {
      throw LibvirtXMLError("a domain description without a <domain> element")
    }
    name = root.childText("name") ?? ""
    uuid = root.childText("uuid") ?? ""
    let vcpu = root.child("vcpu")
    vcpus = Int(vcpu?.attributeText("current") ?? vcpu?.stringValue ?? "") ?? 1
    memoryBytes = root.child("memory").flatMap(Self.bytes) ?? 0
    let cpu = root.child("cpu")
    cpuMode = cpu.flatMap { CPUMode(rawValue: $0.attributeText("mode") ?? "custom") } ?? .custom
    cpuModel = cpu?.childText("model").flatMap { $0.isEmpty ? nil : $0 }
    requiredFeatures =
      cpu?.children("feature").compactMap { feature in
        let policy = feature.attributeText("policy") ?? "require"
        return policy == "require" || policy == "force" ? feature.attributeText("name") : nil
      } ?? []
    cpuXML = cpu?.xmlString
    disks =
      root.child("devices")?.children("disk").compactMap { disk -> DiskSource? in
        let device = disk.attributeText("device") ?? "disk"
        guard device == "disk" || device == "lun" else { return nil }
        let source = disk.child("source")
        return DiskSource(
          path: source?.attributeText("file") ?? source?.attributeText("dev"),
          pool: source?.attributeText("pool"), volume: source?.attributeText("volume"),
          networkProtocol: disk.attributeText("type") == "network" ? source?.attributeText("protocol") : nil,
          target: disk.child("target")?.attributeText("dev") ?? "", readOnly: disk.child("readonly") != nil)
      } ?? []
  }

  /// A size element (`<memory unit='KiB'>65536</memory>`) in bytes; libvirt's default unit is KiB.
  static func bytes(_ element: XMLElement) -> Int64? {
    guard let value = Int64(element.stringValue?.trimmingCharacters(in: .whitespaces) ?? "") else { return nil }
    let factors: [String: Int64] = [
      "b": 1, "bytes": 1, "KB": 1000, "k": 1024, "KiB": 1024, "MB": 1_000_000, "M": 1 << 20, "MiB": 1 << 20,
      "GB": 1_000_000_000, "G": 1 << 30, "GiB": 1 << 30, "TB": 1_000_000_000_000, "T": 1 << 40, "TiB": 1 << 40,
    ]
    let factor = factors[element.attributeText("unit") ?? "KiB"] ?? 1024
    let product = value.multipliedReportingOverflow(by: factor)
    return product.overflow ? nil : product.partialValue
  }
}

/// A libvirt XML document that is not what Ballast expects.
struct LibvirtXMLError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

extension XMLElement {
  func child(_ name: String) -> XMLElement? { elements(forName: name).first }
  func children(_ name: String) -> [XMLElement] { elements(forName: name) }
  func childText(_ name: String) -> String? {
    child(name)?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines)
  }
  func attributeText(_ name: String) -> String? { attribute(forName: name)?.stringValue }
}
