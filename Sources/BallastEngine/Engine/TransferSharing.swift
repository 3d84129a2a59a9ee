import BallastModel

/// The transfers of a run in flight on the hosts' links, to say what each was entitled to:
/// a transfer alone gets the slower of its two links (under the cap); beside others it gets an
/// equal share of each link (the fluid model of ``LinkFlows``). What the learner needs to
/// normalize a measured rate by the moves that shared the link.
struct TransferSharing {
  private struct Transfer {
    let from: String
    let to: String
    /// Bytes per second of the source's and the destination's link, and the cap.
    let fromRate: Double
    let toRate: Double
    let cap: Double
    let start: Double
    var last: Double
    /// ∫ entitled rate dt so far.
    var integral: Double = 0
  }

  private var transfers: [Int: Transfer] = [:]

  /// A transfer of move `token` from `from` to `to` begins at `now`.
  mutating func begin(_ token: Int, from: Host, to: Host, cap: Double?, at now: Double) {
    advance(to: now)
    transfers[token] = Transfer(
      from: from.name, to: to.name, fromRate: from.migrationBandwidth.bytesPerSecond,
      toRate: to.migrationBandwidth.bytesPerSecond, cap: cap ?? .infinity, start: now, last: now)
  }

  /// The transfer of move `token` ended at `now`: its average entitled rate over what it would
  /// have had alone (1: it ran alone; `nil`: no such transfer).
  mutating func end(_ token: Int, at now: Double) -> Double? {
    advance(to: now)
    guard let transfer = transfers.removeValue(forKey: token) else { return nil }
    let alone = min(transfer.fromRate, transfer.toRate, transfer.cap)
    let seconds = now - transfer.start
    guard seconds > 0, alone > 0 else { return 1 }
    return min(max(transfer.integral / seconds / alone, 0), 1)
  }

  private mutating func advance(to now: Double) {
    var count: [String: Int] = [:]
    for transfer in transfers.values {
      count[transfer.from, default: 0] += 1
      if transfer.to != transfer.from { count[transfer.to, default: 0] += 1 }
    }
    for (token, var transfer) in transfers {
      let rate = min(
        transfer.fromRate / Double(max(count[transfer.from] ?? 1, 1)),
        transfer.toRate / Double(max(count[transfer.to] ?? 1, 1)), transfer.cap)
      transfer.integral += rate * max(now - transfer.last, 0)
      transfer.last = now
      transfers[token] = transfer
    }
  }
}
