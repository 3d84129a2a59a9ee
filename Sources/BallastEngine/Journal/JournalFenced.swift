/// The journal refused a write because the lease it was made under is no longer this
/// process's: another process took the cluster's migration lease over (this one was paused,
/// cut off from the database, or too slow to renew) and settles the moves this one left.
///
/// The history database checks the lease's fencing token (its epoch) on every write made under
/// it. A process that gets this error stops touching VMs at once: it starts no stage, rolls
/// nothing back and runs no step, since the new holder's reconcile decides each move's fate.
public struct JournalFenced: Error, Sendable, Hashable, CustomStringConvertible {
  /// The cluster whose lease was lost.
  public var cluster: String
  /// The epoch of the lease the refused write was made under.
  public var epoch: Int64
  /// What the database or the lease's renewal said.
  public var detail: String

  public init(cluster: String, epoch: Int64, detail: String) {
    self.cluster = cluster
    self.epoch = epoch
    self.detail = detail
  }

  public var description: String {
    "the journal refused a write made under lease epoch \(epoch) of cluster \(cluster): \(detail) — this process "
      + "no longer holds the lease and touches no VM; the process that holds it now reconciles what was in flight"
  }
}
