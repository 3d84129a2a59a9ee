extension Duration {
  /// The duration in milliseconds, fractions included (a plan's timing, say).
  public var milliseconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
  }
}
