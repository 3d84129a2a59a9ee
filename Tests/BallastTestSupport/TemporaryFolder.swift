import Foundation

/// A fresh folder under the temporary directory, named `prefix` and a UUID; the caller removes it.
public func makeTemporaryFolder(prefix: String = "ballast-test") throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
  return url
}

/// A fresh temporary folder for `body`, removed when `body` ends (also when it throws).
public func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
  let url = try makeTemporaryFolder(prefix: "ballast-history")
  defer { try? FileManager.default.removeItem(at: url) }
  return try await body(url)
}
