import BallastEngine
import Foundation

/// The test guest's kernel, built from `guest/` (C, assembly, linker script) at lab start.
/// No binary is committed: ``build(source:output:)`` compiles it with `gcc -m32`.
public enum GuestKernel {
  /// The directory holding `build.sh` found in `start` or one of its ancestors
  /// (`<dir>/guest/build.sh`), or `nil`.
  public static func findSource(from start: String) -> String? {
    var url = URL(fileURLWithPath: start).standardizedFileURL
    while true {
      let candidate = url.appendingPathComponent("guest/build.sh").path
      if FileManager.default.isExecutableFile(atPath: candidate) {
        return url.appendingPathComponent("guest").path
      }
      let parent = url.deletingLastPathComponent()
      if parent.path == url.path { return nil }
      url = parent
    }
  }

  /// The file name ``build(source:output:)`` and ``prepare(prebuilt:source:searchFrom:output:)``
  /// leave in their output directory.
  public static let fileName = "ballast-guest.elf"

  /// The kernel in `output`: `prebuilt` copied there when given (`BALLAST_GUEST_KERNEL`), else
  /// built from `source`, else from the `guest/` found above one of `searchFrom` in turn.
  /// Returns its path; throws ``DriverError`` saying what to do when there is neither.
  public static func prepare(
    prebuilt: String?, source: String?, searchFrom: [String], output: String
  ) async throws
    -> String
  {
    let files = FileManager.default
    try files.createDirectory(atPath: output, withIntermediateDirectories: true)
    let kernel = output + "/" + fileName
    if let prebuilt {
      guard files.fileExists(atPath: prebuilt) else {
        throw DriverError("guest kernel \(prebuilt) does not exist", hint: "unset BALLAST_GUEST_KERNEL to build it")
      }
      if files.fileExists(atPath: kernel) { try files.removeItem(atPath: kernel) }
      try files.copyItem(atPath: prebuilt, toPath: kernel)
      return kernel
    }
    guard let found = source ?? searchFrom.lazy.compactMap(findSource(from:)).first else {
      throw DriverError(
        "cannot find the test guest's sources (guest/build.sh) above \(searchFrom.joined(separator: " or "))",
        hint: "run from the Ballast repository or set BALLAST_GUEST_KERNEL")
    }
    return try await build(source: found, output: output)
  }

  /// Builds the kernel from `source` (the `guest/` directory) into `output` and returns its path.
  /// Throws ``DriverError`` with the compiler's message when the build fails.
  public static func build(source: String, output: String) async throws -> String {
    let script = source + "/build.sh"
    let result: ProcessOutput
    do {
      result = try await ProcessRunner.run("/bin/sh", [script, output], timeout: 120)
    } catch {
      throw DriverError("cannot build the test guest: \(error)", hint: "install gcc-multilib and binutils")
    }
    guard result.status == 0 else {
      throw DriverError(
        "building the test guest failed (exit \(result.status)): \(result.standardError.suffix(800))",
        hint: "install gcc-multilib and binutils (Debian)")
    }
    let kernel = output + "/" + fileName
    guard FileManager.default.fileExists(atPath: kernel) else {
      throw DriverError("the guest build produced no \(kernel)")
    }
    return kernel
  }
}

/// Progress of the test guest, read from its status block at guest-physical `0x300000`.
public struct GuestStatus: Sendable, Hashable {
  /// Guest-physical address of the status block.
  public static let address: UInt64 = 0x30_0000
  /// The monitor command that dumps it.
  public static let monitorCommand = "xp /10wx 0x300000"
  static let magic: UInt32 = 0x5453_4C42

  public enum State: Sendable, Hashable {
    case filling, running, poweringOff, fault
    case unknown(UInt32)
  }

  public var state: State
  /// Pages written since boot (the dirtying counter; keeps growing across a live migration).
  public var dirtiedPages: UInt32
  /// Milliseconds of guest time since the dirtying loop started.
  public var ticks: UInt32
  public var workingSetPages: UInt32
  public var ratePagesPerSecond: UInt32
  public var dutyPercent: UInt32
  /// Full passes over the working set.
  public var passes: UInt32
  /// Control lines the guest applied (``QEMULab/setLoad(vm:on:duty:rate:workingSet:timeout:)``);
  /// `nil` for a guest built before it had a control port.
  public var commands: UInt32?

  /// Parses the output of ``monitorCommand`` (`0000000000300000: 0x54534c42 0x00000001 …`);
  /// `nil` when the block is not there (not booted yet, or another kernel).
  public init?(monitorOutput: String) {
    var words: [UInt32] = []
    for line in monitorOutput.split(whereSeparator: \.isNewline) {
      guard let colon = line.firstIndex(of: ":") else { continue }
      for token in line[line.index(after: colon)...].split(separator: " ") where token.hasPrefix("0x") {
        if let value = UInt32(token.dropFirst(2), radix: 16) { words.append(value) }
      }
    }
    self.init(words: words)
  }

  /// Reads the block from its raw bytes (little-endian words), as a memory peek returns them.
  public init?(littleEndianBytes bytes: [UInt8]) {
    let words = stride(from: 0, to: bytes.count - 3, by: 4).map { i in
      UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
    }
    self.init(words: words)
  }

  init?(words: [UInt32]) {
    guard words.count >= 9, words[0] == Self.magic else { return nil }
    switch words[2] {
    case 1: state = .filling
    case 2: state = .running
    case 3: state = .poweringOff
    case 0xDEAD: state = .fault
    default: state = .unknown(words[2])
    }
    dirtiedPages = words[3]
    ticks = words[4]
    workingSetPages = words[5]
    ratePagesPerSecond = words[6]
    dutyPercent = words[7]
    passes = words[8]
    commands = words[1] >= 2 && words.count >= 10 ? words[9] : nil
  }
}
