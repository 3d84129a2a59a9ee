import Foundation

/// Polls `condition` every 100 ms for up to `timeout` seconds; whether it became true.
public func eventually(timeout: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
  let deadline = Date().addingTimeInterval(timeout)
  while Date() < deadline {
    if try await condition() { return true }
    try? await Task.sleep(for: .milliseconds(100))
  }
  return try await condition()
}
