/// Sees the balancing loop's rounds start and end: what a metrics endpoint, a status page or
/// a supervisor (systemd) needs to know about a running loop.
///
/// ``BalanceLoopService`` calls it on the loop's task, so each call must return quickly. The
/// engine's events during a round reach the controller's `EngineObserver` instead.
public protocol LoopObserver: Sendable {
  /// A round begins: it samples the hosts next.
  func roundStarted()
  /// A round ended; `report` says what it saw and decided.
  func roundEnded(_ report: RoundReport)
  /// A round failed with `error`; the loop tries again next interval.
  func roundFailed(_ error: any Error)
  /// The loop was asked to stop: no new round starts, migrations in flight finish or abort.
  func loopStopping()
}

/// Several observers, each told everything in turn.
public struct LoopObservers: LoopObserver {
  let observers: [any LoopObserver]

  public init(_ observers: [any LoopObserver]) { self.observers = observers }

  public func roundStarted() { for observer in observers { observer.roundStarted() } }
  public func roundEnded(_ report: RoundReport) { for observer in observers { observer.roundEnded(report) } }
  public func roundFailed(_ error: any Error) { for observer in observers { observer.roundFailed(error) } }
  public func loopStopping() { for observer in observers { observer.loopStopping() } }
}

extension BalanceLoopService {
  /// This loop, with `observer` told of every round.
  public func observed(by observer: any LoopObserver) -> BalanceLoopService {
    var copy = self
    copy.observer = observer
    return copy
  }
}
