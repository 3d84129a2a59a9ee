import Foundation
import Testing

@testable import BallastDriverSupport

@Suite("SHA-256 used to verify cold-migration copies")
struct SHA256Tests {
  @Test(
    "FIPS 180-4 test vectors",
    arguments: [
      ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
      ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
      (
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
      ),
    ])
  func vectors(message: String, digest: String) {
    #expect(SHA256Hasher.hex(Array(message.utf8)) == digest)
  }

  @Test("streaming in uneven pieces gives the same digest as one piece")
  func streaming() {
    let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    var hasher = SHA256Hasher()
    var offset = 0
    for size in [1, 63, 64, 65, 7, 300, 500] {
      let end = min(offset + size, bytes.count)
      hasher.update(Array(bytes[offset..<end]))
      offset = end
    }
    #expect(hasher.finish() == SHA256Hasher.hex(bytes))
  }

  @Test("a file's digest matches sha256sum's")
  func file() async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)").path
    let bytes = (0..<(3 * 1_048_576 + 17)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let ours = try await SHA256Hasher.file(path)
    let tool = try await ProcessRunner.run("sha256sum", [path])
    #expect(ours == tool.standardOutput.split(separator: " ").first.map(String.init))
  }
}
