import BallastEngine

/// Collects the transfer events a driver reports.
public actor EventLog {
  public private(set) var events: [TransferEvent] = []

  public init() {}

  public func append(_ event: TransferEvent) { events.append(event) }

  public var rounds: [PreCopyRound] {
    events.compactMap { if case .round(let round) = $0 { round } else { nil } }
  }

  public var stopAndCopyAnnounced: Bool {
    events.contains { if case .stopAndCopyStarting = $0 { true } else { false } }
  }
}
