import BallastModel

/// Transfers in progress over the hosts' migration links, with fair sharing.
///
/// A flow's rate is the smallest of its equal share of the source link, its equal share of the
/// destination link, and its cap. Rates change only when a flow opens or closes or a link's
/// bandwidth changes; between those events every flow progresses linearly, so a flow's
/// finishing time is exact (fluid model).
struct LinkFlows {
  struct Flow {
    let id: Int
    let from: String
    let to: String
    let cap: Double?
    /// Bytes of the current send still to go, as of `lastUpdate`.
    var remaining: Double = 0
    /// Bytes per second now.
    var rate: Double = 0
    /// Elapsed time `remaining` was last brought up to date.
    var lastUpdate: Double = 0
    /// When the current send ends at the current rate.
    var finishAt: Double = .infinity
    var sending = false
    /// Whether the rate changed during the current send.
    var rateChanged = false
    /// Why the flow broke (its host died), if it did.
    var failure: DriverError?
  }

  private(set) var flows: [Int: Flow] = [:]
  private var nextID = 1

  /// Opens a flow from `from` to `to`; call ``rebalance(now:bandwidth:)`` next.
  mutating func open(from: String, to: String, cap: Double?) -> Int {
    defer { nextID += 1 }
    flows[nextID] = Flow(id: nextID, from: from, to: to, cap: cap)
    return nextID
  }

  mutating func close(_ id: Int) { flows[id] = nil }

  subscript(id: Int) -> Flow? {
    get { flows[id] }
    set { flows[id] = newValue }
  }

  /// Starts sending `bytes` on flow `id` at `now`; returns the seconds it takes at the current rate.
  mutating func startSending(_ id: Int, bytes: Double, now: Double) -> Double {
    guard var flow = flows[id] else { return .infinity }
    flow.remaining = bytes
    flow.lastUpdate = now
    flow.sending = true
    flow.rateChanged = false
    let seconds = flow.rate > 0 ? bytes / flow.rate : .infinity
    flow.finishAt = now + seconds
    flows[id] = flow
    return seconds
  }

  /// Ends the current send of flow `id`.
  mutating func stopSending(_ id: Int) {
    flows[id]?.sending = false
    flows[id]?.remaining = 0
    flows[id]?.finishAt = .infinity
  }

  /// Flows through `host`.
  func flows(through host: String) -> [Int] {
    flows.values.filter { $0.from == host || $0.to == host }.map(\.id).sorted()
  }

  /// Recomputes every flow's rate at `now`; returns the sending flows whose rate changed.
  mutating func rebalance(now: Double, bandwidth: (String) -> Double) -> [Int] {
    var count: [String: Int] = [:]
    for flow in flows.values {
      count[flow.from, default: 0] += 1
      if flow.to != flow.from { count[flow.to, default: 0] += 1 }
    }
    var changed: [Int] = []
    for id in flows.keys.sorted() {
      guard var flow = flows[id] else { continue }
      let fromShare = bandwidth(flow.from) / Double(max(count[flow.from] ?? 1, 1))
      let toShare = bandwidth(flow.to) / Double(max(count[flow.to] ?? 1, 1))
      let rate = max(0, min(fromShare, toShare, flow.cap ?? .infinity))
      guard rate != flow.rate else { continue }
      if flow.sending {
        flow.remaining = max(0, flow.remaining - flow.rate * (now - flow.lastUpdate))
        flow.lastUpdate = now
        flow.rateChanged = true
        flow.finishAt = rate > 0 ? now + flow.remaining / rate : .infinity
        changed.append(id)
      }
      flow.rate = rate
      flows[id] = flow
    }
    return changed
  }
}
