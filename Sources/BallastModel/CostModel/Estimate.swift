/// How estimates take in what migrations measured.
public struct LearningSettings: Sendable, Hashable, Codable {
  /// The weight of the newest observation once an estimate has several (EWMA); the first ones
  /// are averaged with equal weight.
  public var alpha: Double = 0.3
  /// The prior's weight against the first observation, in migrations: 0 (the default), the
  /// file's value is the estimate until the first measurement, which replaces it (a lab's
  /// inventory, say, can be far off: its resident memory is not the memory the guest wrote).
  public var priorWeight: Double = 0
  /// An observation further from the estimate than this many times its usual deviation is an
  /// outlier and left out (once the estimate has ``trustedAfter`` observations).
  public var outlierDeviations: Double = 4
  /// The usual deviation is taken as at least this share of the estimate, so a figure that
  /// never varied does not reject small changes.
  public var deviationFloor: Double = 0.05
  /// Observations an estimate takes in before it may reject any.
  public var trustedAfter: Int = 3
  /// Outliers in a row after which the figure is taken to have changed: the estimate starts
  /// again from the last of them.
  public var changeAfter: Int = 3

  public init() {}
}

/// One learned figure: a robust exponentially weighted average of what migrations measured.
///
/// The first observations are averaged with the prior (weighted ``LearningSettings/priorWeight``),
/// later ones weigh ``LearningSettings/alpha``. An observation far from the estimate (more
/// than ``LearningSettings/outlierDeviations`` times the average absolute deviation) is left
/// out; when ``LearningSettings/changeAfter`` come in a row, the figure has changed and the
/// estimate restarts from the last one.
public struct Estimate: Sendable, Hashable, Codable {
  /// The estimate.
  public var value: Double
  /// Average absolute deviation of the observations from the estimate.
  public var deviation: Double
  /// Observations taken in.
  public var count: Int
  /// Outliers left out since the last observation taken in.
  public var outliers: Int

  public init(value: Double, deviation: Double = 0, count: Int = 0, outliers: Int = 0) {
    self.value = value
    self.deviation = deviation
    self.count = count
    self.outliers = outliers
  }

  /// The estimate after `observation`, starting from `prior` when there is none yet.
  public static func updated(
    _ current: Estimate?, prior: Double, with observation: Double, settings: LearningSettings
  ) -> Estimate {
    var estimate = current ?? Estimate(value: prior)
    estimate.take(observation, settings: settings)
    return estimate
  }

  /// Takes in one observation; returns whether it was used (false: an outlier, left out).
  @discardableResult
  public mutating func take(_ observation: Double, settings: LearningSettings) -> Bool {
    guard observation.isFinite else { return false }
    let distance = abs(observation - value)
    if count >= settings.trustedAfter {
      let usual = max(deviation, settings.deviationFloor * abs(value))
      if distance > settings.outlierDeviations * usual {
        outliers += 1
        guard outliers >= settings.changeAfter else { return false }
        self = Estimate(value: observation, deviation: distance / 2, count: 1)
        return true
      }
    }
    let weight =
      count == 0
      ? 1 / (1 + max(settings.priorWeight, 0))
      : max(1 / (Double(count) + 1 + settings.priorWeight), settings.alpha)
    value += weight * (observation - value)
    deviation = count == 0 ? distance * weight : deviation + weight * (distance - deviation)
    count += 1
    outliers = 0
    return true
  }
}

/// A learned straight line y = intercept + slope · x, fitted by recursive least squares with
/// forgetting (recent observations weigh more) and started from a prior line: the stop-and-copy
/// pause as a fixed part plus the remaining bytes over the final copy's rate.
///
/// The fit runs in the prior's units (x times the prior slope, in y's unit), where the prior
/// line counts as much as a hundredth of an observation: the first points move it most.
public struct LineEstimate: Sendable, Hashable, Codable {
  /// y at x = 0.
  public var intercept: Double
  /// The prior slope: x is scaled by it inside the fit.
  public var scale: Double
  /// The fitted slope, relative to ``scale`` (1: as the prior).
  public var factor: Double
  /// Relative covariance of (intercept, factor): p00, p01, p11.
  public var p00: Double = 100
  public var p01: Double = 0
  public var p11: Double = 100
  /// Average absolute residual.
  public var deviation: Double = 0
  public var count: Int = 0
  public var outliers: Int = 0

  /// Starts at the prior line y = `intercept` + `slope` · x.
  public init(intercept: Double, slope: Double) {
    self.intercept = intercept
    self.scale = slope > 0 ? slope : 1
    self.factor = slope > 0 ? 1 : 0
  }

  /// The fitted slope, in y per unit of x.
  public var slope: Double { factor * scale }

  /// The line at `x`.
  public func value(at x: Double) -> Double { intercept + slope * x }

  /// Takes in one point; returns whether it was used.
  @discardableResult
  public mutating func take(x: Double, y: Double, settings: LearningSettings) -> Bool {
    guard x.isFinite, y.isFinite, x >= 0 else { return false }
    let residual = y - value(at: x)
    if count >= settings.trustedAfter {
      let usual = max(deviation, settings.deviationFloor * abs(y))
      if abs(residual) > settings.outlierDeviations * usual {
        outliers += 1
        guard outliers >= settings.changeAfter else { return false }
        self = LineEstimate(intercept: max(y - slope * x, 0), slope: slope)
        count = 1
        deviation = abs(residual) / 2
        return true
      }
    }
    // RLS with forgetting factor λ: gain k = P·φ / (λ + φᵀ·P·φ), φ = (1, x·scale).
    let u = x * scale
    let lambda = 1 - settings.alpha / 2
    let pp0 = p00 + p01 * u
    let pp1 = p01 + p11 * u
    let denominator = lambda + pp0 + pp1 * u
    guard denominator > 0 else { return false }
    let k0 = pp0 / denominator
    let k1 = pp1 / denominator
    intercept += k0 * residual
    factor += k1 * residual
    let n00 = (p00 - k0 * pp0) / lambda
    let n01 = (p01 - k0 * pp1) / lambda
    let n11 = (p11 - k1 * pp1) / lambda
    // Keep the covariance bounded (it grows where the data say nothing) and the line physical.
    (p00, p01, p11) = (min(max(n00, 0), 100), n01, min(max(n11, 0), 100))
    if intercept < 0 {
      // The point lies below what the slope alone gives (the prior's scale makes the fit move
      // the intercept most): keep the fitted value at this x with no fixed part, so the slope
      // takes the correction rather than losing it to the clamp.
      if u > 0 { factor += intercept / u }
      intercept = 0
    }
    factor = max(factor, 0.01)
    let weight = count == 0 ? 1 : max(1 / Double(count + 1), settings.alpha)
    deviation += weight * (abs(residual) - deviation)
    count += 1
    outliers = 0
    return true
  }
}
