import Testing

@testable import BallastModel

@Suite("Units")
struct UnitsTests {
  @Test(arguments: [
    ("8GiB", Int64(8 * 1_073_741_824)), ("512MiB", 536_870_912), ("40GB", 40_000_000_000),
    ("1.5GiB", 1_610_612_736), ("1024B", 1024), ("2 TiB", 2_199_023_255_552), ("64KiB", 65536),
  ])
  func parsesSizes(text: String, bytes: Int64) {
    #expect(ByteCount(parsing: text)?.bytes == bytes)
  }

  @Test(arguments: ["8", "8GB?", "GiB", "-1GiB", "eight GiB", "8 gigs", ""])
  func rejectsBadSizes(text: String) {
    #expect(ByteCount(parsing: text) == nil)
  }

  @Test(arguments: [
    ("10Gbit/s", 1.25e9), ("800Mbit/s", 1e8), ("200MB/s", 2e8), ("1GiB/s", 1_073_741_824.0), ("25Gbps", 3.125e9),
  ])
  func parsesRates(text: String, bytesPerSecond: Double) {
    #expect(Bandwidth(parsing: text)?.bytesPerSecond == bytesPerSecond)
  }

  @Test(arguments: ["10Gbit", "10", "fast", "10 Gb/s"])
  func rejectsBadRates(text: String) {
    #expect(Bandwidth(parsing: text) == nil)
  }

  @Test(arguments: [("300ms", 0.3), ("60s", 60.0), ("5m", 300.0), ("1h", 3600.0), ("2d", 172_800.0), ("5min", 300.0)])
  func parsesTimes(text: String, seconds: Double) {
    #expect(TimeSpan(parsing: text)?.seconds == seconds)
  }

  @Test func printsReadableUnits() {
    #expect(ByteCount.gib(8).description == "8GiB")
    #expect(ByteCount.mib(1536).description == "1.5GiB")
    #expect(Bandwidth.gbit(10).description == "1.25GB/s")
    #expect(TimeSpan.milliseconds(300).description == "300ms")
    #expect(TimeSpan.minutes(90).description == "1.5h")
  }
}

@Suite("Exact unit encoding")
struct ExactUnitsTests {
  @Test(arguments: [Int64(8 << 30), 1_610_612_736, 1000, 123_456_789, 0])
  func sizesRoundTrip(bytes: Int64) {
    let size = ByteCount(bytes)
    #expect(ByteCount(parsing: size.exactDescription) == size)
  }

  @Test(arguments: [1.25e9, 1e8, 2e8, 123_456.5, 40e6 / 3])
  func ratesRoundTrip(bytesPerSecond: Double) {
    let rate = Bandwidth(bytesPerSecond: bytesPerSecond)
    #expect(Bandwidth(parsing: rate.exactDescription) == rate)
  }

  @Test(arguments: [0.3, 300.0, 3600.0, 1.2345678, 86400.0 * 2])
  func timesRoundTrip(seconds: Double) {
    let span = TimeSpan(seconds: seconds)
    #expect(TimeSpan(parsing: span.exactDescription) == span)
  }

  @Test func exactFormsAreReadable() {
    #expect(ByteCount.gib(8).exactDescription == "8GiB")
    #expect(ByteCount.mib(1536).exactDescription == "1536MiB")
    #expect(Bandwidth.gbit(10).exactDescription == "10Gbit/s")
    #expect(Bandwidth.mbPerSecond(200).exactDescription == "200MB/s")
    #expect(Bandwidth(parsing: "900Mbit/s")?.exactDescription == "900Mbit/s")
    #expect(TimeSpan.milliseconds(300).exactDescription == "300ms")
  }
}

@Suite("Pre-copy inputs of a VM")
struct PreCopyInputsTests {
  static func vm(memoryUse: Double, workingSet: ByteCount = .mib(512)) -> VM {
    VM(
      name: "v", host: "h", vcpus: 2, memory: .gib(8), cpuModel: "qemu64", usage: Usage(cpu: 0.5, memory: memoryUse),
      dirtyRate: .mbPerSecond(10), workingSet: workingSet)
  }

  @Test(arguments: [(0.5, ByteCount.gib(4)), (1.0, .gib(8)), (0.0, .gib(8)), (0.01, .mib(512))])
  func roundZeroSendsTouchedMemory(memoryUse: Double, expected: ByteCount) {
    let parameters = PreCopyParameters(
      vm: Self.vm(memoryUse: memoryUse), downtimeLimit: .milliseconds(300), convergence: Convergence())
    #expect(parameters.touchedMemory == expected)
    #expect(parameters.memory == .gib(8))
  }
}
