/// What a metric family means: the `# HELP` text Prometheus shows, and its histogram buckets.
public struct MetricDescription: Sendable, Hashable {
  public var help: String
  /// Upper bounds of a histogram's buckets (seconds for durations); empty for other metrics.
  public var buckets: [Double]

  public init(help: String, buckets: [Double] = []) {
    self.help = help
    self.buckets = buckets
  }
}
