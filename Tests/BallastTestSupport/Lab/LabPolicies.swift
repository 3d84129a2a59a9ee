/// Policies the lab tests run with.
public enum LabPolicies {
  /// Acts on CPU only, at once (no hold), one move a round, above `threshold`.
  public static func fast(threshold: Double) -> String {
    """
    version: 1
    name: fast
    weights: {cpu: 1, memory: 0}
    threshold: \(threshold)
    holdFor: 0s
    cooldown: 10m
    maxMovesPerRound: 1
    downtimeLimit: 500ms
    liveIneligible: cold
    monitor: {interval: 2s, window: 4s, method: mean, staleAfter: 30s}

    """
  }
}
