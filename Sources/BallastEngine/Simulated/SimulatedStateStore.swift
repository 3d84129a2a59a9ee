import Foundation
import Synchronization

/// Where the simulated hypervisors keep their state, written through after every operation.
public protocol SimulatedStateStore: Sendable {
  /// The last state saved, or `nil` when nothing was saved yet.
  func load() throws -> SimulatedState?
  /// Replaces the saved state, atomically.
  func save(_ state: SimulatedState) throws
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

/// A store in a JSON file, replaced atomically (written to a temporary file, flushed, renamed),
/// so a process killed at any moment leaves either the old or the new state behind.
public struct FileStateStore: SimulatedStateStore {
  public let path: String

  public init(path: String) { self.path = path }

  public func load() throws -> SimulatedState? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    do {
      let data = try Data(contentsOf: URL(fileURLWithPath: path))
      return try JSONDecoder().decode(SimulatedState.self, from: data)
    } catch {
      throw SimulationError(
        "cannot read the simulated state \(path): \(error)", hint: "delete the file to start from the cluster file")
    }
  }

  public func save(_ state: SimulatedState) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(state)
    try DurableFile.replace(path, with: data)
  }
}

/// Atomic, durable replacement of a file: temporary file in the same directory, fsync, rename.
enum DurableFile {
  /// Writes `data` to `path` so readers see either the old file or the whole new one.
  static func replace(_ path: String, with data: Data) throws {
    let temporary = path + ".tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
      throw SimulationError("cannot create \(temporary)", hint: "check that the directory exists and is writable")
    }
    do {
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
      try handle.write(contentsOf: data)
      try handle.synchronize()
      try handle.close()
      guard rename(temporary, path) == 0 else {
        throw SimulationError("cannot rename \(temporary) to \(path): errno \(errno)")
      }
    } catch {
      try? FileManager.default.removeItem(atPath: temporary)
      throw error
    }
  }
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
