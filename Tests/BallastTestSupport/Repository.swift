import Foundation

/// The repository this test build comes from, found from this file's place in it.
public enum Repository {
  /// The repository root, where `clusters/`, `policies/`, `guest/` and `data/` are.
  public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// The test guest's sources (`guest/`).
  public static var guestSource: String { root.appendingPathComponent("guest").path }
}
