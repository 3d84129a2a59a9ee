import ArgumentParser
import BallastRuntime

/// `--since 2h`, `--since 2026-01-31`.
extension TimeBound: ExpressibleByArgument {
  public init?(argument: String) { self.init(parsing: argument) }
}
