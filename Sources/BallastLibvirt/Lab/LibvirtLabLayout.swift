import BallastDriverSupport
import BallastModel
import Foundation

/// Where everything of a libvirt lab lives, and who runs each host's daemon.
///
/// ```
/// <labRoot>/
///   lab.json                     what `lab up` started (daemons, users), for `lab down`
///   guest/ballast-guest.elf      the test guest's kernel
///   shared/<n>/                  shared datastore n (every host defines a pool on it)
///   hosts/<n>/                   host n (its position in the file, from 1)
///     home/ config/ data/ cache/ run/   the daemon's HOME and XDG folders
///     local/                     the host's local pool
///     cache/libvirtd.log         the daemon's messages
/// ```
///
/// Folders are numbered, not named after hosts or datastores: a name never becomes a path.
/// Each host's `libvirtd` runs as its own unprivileged user (`ballast-lab-<n>`, group
/// `ballast-lab`) in session mode, inside its own UTS namespace with hostname
/// `ballast-lab-<n>`, with its own host UUID, because libvirt refuses a migration between equal
/// hostnames or host UUIDs. Root reaches it at `qemu+unix:///session?socket=<run>/libvirt/libvirt-sock`.
public struct LibvirtLabLayout: Sendable, Hashable {
  /// Absolute path of the lab's root.
  public let root: String
  /// Host names in file order.
  public let hosts: [String]
  /// Shared datastore names in file order.
  public let sharedDatastores: [String]

  public init(root: String, cluster: Cluster) {
    self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    self.hosts = cluster.libvirt?.hosts.map(\.name) ?? []
    self.sharedDatastores = cluster.datastores.filter(\.shared).map(\.name)
  }

  public static let group = "ballast-lab"
  /// The name of every lab host's local pool.
  public static let localPool = "local"

  public var stateFile: String { root + "/lab.json" }
  public var guestDirectory: String { root + "/guest" }
  public var guestKernel: String { guestDirectory + "/" + GuestKernel.fileName }

  func number(_ host: String) -> Int? { hosts.firstIndex(of: host).map { $0 + 1 } }

  public func hostDirectory(_ host: String) -> String? { number(host).map { root + "/hosts/\($0)" } }
  public func user(_ host: String) -> String? { number(host).map { "ballast-lab-\($0)" } }
  public func hostname(_ host: String) -> String? { number(host).map { "ballast-lab-\($0)" } }
  public func runtimeDirectory(_ host: String) -> String? { hostDirectory(host).map { $0 + "/run" } }
  public func localPoolDirectory(_ host: String) -> String? { hostDirectory(host).map { $0 + "/local" } }

  /// The daemon's socket, as root connects to it.
  public func uri(_ host: String) -> String? {
    runtimeDirectory(host).map { "qemu+unix:///session?socket=\($0)/libvirt/libvirt-sock" }
  }

  public func pidFile(_ host: String) -> String? { runtimeDirectory(host).map { $0 + "/libvirt/libvirtd.pid" } }

  /// The folder of shared datastore `name`.
  public func sharedDirectory(_ name: String) -> String? {
    sharedDatastores.firstIndex(of: name).map { root + "/shared/\($0 + 1)" }
  }

  /// Every host's URI.
  public var uris: [String: String] {
    Dictionary(uniqueKeysWithValues: hosts.compactMap { host in uri(host).map { (host, $0) } })
  }

  /// A stable host UUID for `host` of this lab (libvirt needs a different one per daemon).
  public func hostUUID(_ host: String) -> String {
    let digest = SHA256Hasher.hex(Data("\(root)\u{0}\(number(host) ?? 0)".utf8))
    var hex = Array(digest.prefix(32))
    hex[12] = "5"  // version 5 (name-based)
    hex[16] = ["8", "9", "a", "b"][Int(String(hex[16]), radix: 16).map { $0 % 4 } ?? 0]  // RFC 4122 variant
    let text = String(hex)
    let groups = [8, 4, 4, 4, 12]
    var parts: [String] = []
    var start = text.startIndex
    for length in groups {
      let end = text.index(start, offsetBy: length)
      parts.append(String(text[start..<end]))
      start = end
    }
    return parts.joined(separator: "-")
  }
}
