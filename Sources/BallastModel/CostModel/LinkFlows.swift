/// Transfers in progress over the hosts' migration links, with fair sharing: the physics the
/// simulated driver moves bytes with and the planner's timeline predicts with.
///
/// A flow's rate is its efficiency times the smallest of its equal share of the source link,
/// its equal share of the destination link, and its cap. Rates change only when a flow opens
/// or closes, a cap is lifted or a link's bandwidth changes; between those events every flow
/// progresses linearly, so a flow's finishing time is exact (fluid model).
public struct LinkFlows: Sendable {
  /// One transfer between two hosts.
  public struct Flow: Sendable {
    public let id: Int
    public let from: String
    public let to: String
    /// Most bytes per second it may use (`nil`: its share of the links).
    public var cap: Double?
    /// Share of the nominal rate it achieves, 0…1 (a link's measured efficiency; 1 in the simulator).
    public var efficiency: Double
    /// Bytes of the current send still to go, as of `lastUpdate`.
    public var remaining: Double = 0
    /// Bytes per second now.
    public var rate: Double = 0
    /// Elapsed time `remaining` was last brought up to date.
    public var lastUpdate: Double = 0
    /// When the current send ends at the current rate.
    public var finishAt: Double = .infinity
    public var sending = false
    /// Whether the rate changed during the current send.
    public var rateChanged = false
  }

  public private(set) var flows: [Int: Flow] = [:]
  private var nextID = 1

  public init() {}

  /// Opens a flow from `from` to `to`; call ``rebalance(now:bandwidth:)`` next.
  public mutating func open(from: String, to: String, cap: Double?, efficiency: Double = 1) -> Int {
    defer { nextID += 1 }
    flows[nextID] = Flow(id: nextID, from: from, to: to, cap: cap, efficiency: min(max(efficiency, 0.01), 1))
    return nextID
  }

  public mutating func close(_ id: Int) { flows[id] = nil }

  public subscript(id: Int) -> Flow? {
    get { flows[id] }
    set { flows[id] = newValue }
  }

  /// Starts sending `bytes` on flow `id` at `now`; returns the seconds it takes at the current rate.
  public mutating func startSending(_ id: Int, bytes: Double, now: Double) -> Double {
    guard var flow = flows[id] else { return .infinity }
    flow.remaining = bytes
    flow.lastUpdate = now
    flow.sending = true
    flow.rateChanged = false
    let seconds = bytes <= 0 ? 0 : flow.rate > 0 ? bytes / flow.rate : .infinity
    flow.finishAt = now + seconds
    flows[id] = flow
    return seconds
  }

  /// Ends the current send of flow `id`.
  public mutating func stopSending(_ id: Int) {
    flows[id]?.sending = false
    flows[id]?.remaining = 0
    flows[id]?.finishAt = .infinity
  }

  /// Flows through `host`.
  public func flows(through host: String) -> [Int] {
    flows.values.filter { $0.from == host || $0.to == host }.map(\.id).sorted()
  }

  /// Recomputes every flow's rate at `now`; returns the sending flows whose rate changed.
  public mutating func rebalance(now: Double, bandwidth: (String) -> Double) -> [Int] {
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
      let rate = max(0, min(fromShare, toShare, flow.cap ?? .infinity) * flow.efficiency)
      guard rate != flow.rate else { continue }
      if flow.sending {
        flow.remaining = max(0, flow.remaining - flow.rate * (now - flow.lastUpdate))
        flow.lastUpdate = now
        flow.rateChanged = true
        flow.finishAt = flow.remaining <= 0 ? now : rate > 0 ? now + flow.remaining / rate : .infinity
        changed.append(id)
      }
      flow.rate = rate
      flows[id] = flow
    }
    return changed
  }
}
