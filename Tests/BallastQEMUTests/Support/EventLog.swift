import BallastEngine

/// Collects the transfer events a driver reports.
actor EventLog {
  private(set) var events: [TransferEvent] = []
  func append(_ event: TransferEvent) { events.append(event) }

  var rounds: [PreCopyRound] {
    events.compactMap { if case .round(let round) = $0 { round } else { nil } }
  }

  var stopAndCopyAnnounced: Bool {
    events.contains { if case .stopAndCopyStarting = $0 { true } else { false } }
  }
}
