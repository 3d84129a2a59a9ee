/// A place where VM disks live: shared (SAN, NFS, Ceph — mounted by several hosts) or local.
public struct Datastore: Sendable, Hashable, Codable {
  /// Unique name within the cluster.
  public var name: String
  /// Whether more than one host can mount it. Only disks on a shared datastore that the
  /// destination mounts can stay in place during a live migration.
  public var shared: Bool
  /// Directory backing the datastore (the QEMU lab); `nil` for simulated clusters.
  public var path: String?

  public init(name: String, shared: Bool, path: String? = nil) {
    self.name = name
    self.shared = shared
    self.path = path
  }
}
