import BallastModel
import Foundation
import Synchronization

/// Where the simulated hypervisors keep their state, written through after every operation.
public protocol SimulatedStateStore: Sendable {
  /// The last state saved, or `nil` when nothing was saved yet.
  func load() throws -> SimulatedState?
  /// Replaces the saved state, atomically.
  func save(_ state: SimulatedState) throws
  /// The state saved by someone else since this store last loaded or saved it, or `nil` when
  /// it is unchanged. Several processes may share one store (one at a time, under the cluster
  /// lease); each picks up what the previous one left.
  func loadIfChanged() throws -> SimulatedState?
}

extension SimulatedStateStore {
  /// A store nobody else writes: never changed behind its owner's back.
  public func loadIfChanged() throws -> SimulatedState? { nil }
}

/// A store in memory: the state lives as long as the process.
public final class InMemoryStateStore: SimulatedStateStore {
  private let saved: Mutex<SimulatedState?>
  private let writes = Atomic<Int>(0)

  public init(_ state: SimulatedState? = nil) { saved = Mutex(state) }

  public func load() -> SimulatedState? { saved.withLock { $0 } }

  public func save(_ state: SimulatedState) {
    saved.withLock { $0 = state }
    writes.add(1, ordering: .relaxed)
  }

  /// How many times the state was saved.
  public var saveCount: Int { writes.load(ordering: .relaxed) }
}

/// A store in a JSON file, replaced atomically (see ``AtomicFile``: an exclusive temporary file,
/// flushed, renamed), so a process killed at any moment leaves either the old or the new state
/// behind. The file is readable by its owner only.
public struct FileStateStore: SimulatedStateStore {
  public let path: String
  /// The file as this store last read or wrote it, to tell when another process replaced it.
  private let seen = FileVersionMemo()

  public init(path: String) { self.path = path }

  public func load() throws -> SimulatedState? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let version = FileVersion(path: path)
    do {
      let data = try Data(contentsOf: URL(fileURLWithPath: path))
      let state = try JSONDecoder().decode(SimulatedState.self, from: data)
      seen.set(version)
      return state
    } catch {
      throw SimulationError(
        "cannot read the simulated state \(path): \(error)", hint: "delete the file to start from the cluster file")
    }
  }

  public func save(_ state: SimulatedState) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(state)
    // Owner-only whatever the umask, like the history database: it says where every VM is.
    try AtomicFile.write(data, to: path, permissions: 0o600)
    seen.set(FileVersion(path: path))
  }

  /// Reads the file again when it is not the one this store last read or wrote (every save
  /// replaces the file, so another writer shows as another inode, size or modification time).
  public func loadIfChanged() throws -> SimulatedState? {
    guard let current = FileVersion(path: path), current != seen.get() else { return nil }
    return try load()
  }
}

/// What identifies one version of a file that is only ever replaced, never edited in place.
struct FileVersion: Sendable, Hashable {
  var device: UInt64
  var inode: UInt64
  var size: Int64
  var modifiedSeconds: Int
  var modifiedNanoseconds: Int

  init?(path: String) {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
    size = Int64(info.st_size)
    modifiedSeconds = Int(info.st_mtim.tv_sec)
    modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
  }
}

/// The last ``FileVersion`` a ``FileStateStore`` saw, shared by its copies.
final class FileVersionMemo: Sendable {
  private let version = Mutex<FileVersion?>(nil)

  func get() -> FileVersion? { version.withLock { $0 } }
  func set(_ value: FileVersion?) { version.withLock { $0 = value } }
}

/// A failure of the simulation itself (not of a simulated hypervisor).
public struct SimulationError: Error, Sendable, Hashable, CustomStringConvertible {
  public var message: String
  public var hint: String?

  public init(_ message: String, hint: String? = nil) {
    self.message = message
    self.hint = hint
  }

  public var description: String { message + (hint.map { " — \($0)" } ?? "") }
}
