import CoreMetrics
import Prometheus

/// A swift-metrics factory that registers every metric on a Prometheus registry with its help
/// text and buckets.
///
/// swift-prometheus 2.4's own `PrometheusMetricsFactory` registers metrics with empty help,
/// which `promtool check metrics` rejects, and its registry refuses a family registered twice
/// with different help. This factory looks each label up in ``descriptions`` instead; a label
/// it does not know gets a help text saying so rather than none.
///
/// swift-metrics maps onto Prometheus as usual: counters and floating-point counters are
/// counters, meters and non-aggregating recorders are gauges, aggregating recorders are value
/// histograms, timers are duration histograms (exported in seconds).
public struct DescribedPrometheusFactory: MetricsFactory {
  public let registry: PrometheusCollectorRegistry
  public let descriptions: [String: MetricDescription]

  public init(registry: PrometheusCollectorRegistry, descriptions: [String: MetricDescription]) {
    self.registry = registry
    self.descriptions = descriptions
  }

  /// The family's name with its help text.
  private func descriptor(_ label: String) -> MetricNameDescriptor {
    MetricNameDescriptor(
      metricName: label, unitName: "", helpText: descriptions[label]?.help ?? "\(label) (no description registered)")
  }

  private func buckets(_ label: String) -> [Double] {
    let buckets = descriptions[label]?.buckets ?? []
    return buckets.isEmpty ? [0.01, 0.1, 1, 10, 100] : buckets
  }

  public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
    registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
  }

  public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler
  {
    registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
  }

  public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
    registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
  }

  public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
    guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
    return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets(label))
  }

  public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
    registry.makeDurationHistogram(
      descriptor: descriptor(label), labels: dimensions,
      buckets: buckets(label).map { .nanoseconds(Self.nanoseconds($0)) })
  }

  /// `seconds` in whole nanoseconds, within Int64 whatever the value.
  static func nanoseconds(_ seconds: Double) -> Int64 {
    guard seconds.isFinite, seconds > 0 else { return 0 }
    let nanoseconds = seconds * 1e9
    return nanoseconds < 9.2e18 ? Int64(nanoseconds) : Int64.max
  }

  public func destroyCounter(_ handler: any CounterHandler) {
    if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
  }

  public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
    if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
  }

  public func destroyMeter(_ handler: any MeterHandler) {
    if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
  }

  public func destroyRecorder(_ handler: any RecorderHandler) {
    if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
  }

  public func destroyTimer(_ handler: any TimerHandler) {
    if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
  }
}
