/// A small, fast, deterministic random number generator (SplitMix64): the same seed gives
/// the same sequence on every machine and Swift version.
public struct SeededRandom: RandomNumberGenerator, Sendable {
  private var state: UInt64

  public init(seed: UInt64) { self.state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform value in 0..<1.
  public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

  /// A uniform value in `range`.
  public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
    range.lowerBound + unit() * (range.upperBound - range.lowerBound)
  }

  /// An index in 0..<count (count > 0).
  public mutating func index(_ count: Int) -> Int { Int(next() % UInt64(count)) }

  /// One of `items`, chosen with the given relative `weights`.
  public mutating func weighted<T>(_ items: [(T, Double)]) -> T {
    let total = items.reduce(0) { $0 + $1.1 }
    var pick = unit() * total
    for (item, weight) in items {
      pick -= weight
      if pick < 0 { return item }
    }
    return items[items.count - 1].0
  }
}
