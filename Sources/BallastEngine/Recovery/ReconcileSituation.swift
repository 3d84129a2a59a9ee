import BallastModel

/// Where an unfinished move's VM was found, and what `reconcile` should do about it. Pure: the
/// decision depends only on the journal's last stage, the driver's placements and its
/// ``SwitchoverStyle``.
struct Situation {
  enum RollbackStep: Hashable {
    /// Live: cancel the transfer and resume the paused source.
    case resumeOnSource
    /// Live: remove the (incoming or paused) destination container.
    case releaseDestination
    /// Cold: remove what was copied or registered on the destination, release the reservation.
    case discardDestination
    /// Cold: the VM was shut down for the move; start it again where it was.
    case startOnSource
  }

  enum ForwardAction: Hashable {
    case commit
    case activate
    case removeSource
    case startOnDestination
  }

  enum ForwardStep: Hashable {
    /// Record a stage whose work is found done as succeeded.
    case confirm(MigrationStage)
    /// Write the stage's intent (unless already written), act, record it succeeded.
    case perform(MigrationStage, ForwardAction)
  }

  enum Decision: Hashable {
    case rollBack([RollbackStep], detail: String)
    case complete([ForwardStep], detail: String)
    case needsAttention(detail: String)
    /// Live, killed during commitment with the source still there: run commitment again
    /// (``ForwardAction/commit``); if it succeeds do `then`, else roll back with `orElse`.
    case recommit(then: [ForwardStep], detail: String, orElse: [RollbackStep], rollbackDetail: String)

    var summary: String {
      switch self {
      case .rollBack: "rolling back"
      case .complete: "completing"
      case .recommit: "asking the destination to commit again"
      case .needsAttention: "recording that it needs attention"
      }
    }
  }

  let unfinished: UnfinishedMove
  let placements: [VMPlacement]
  /// How the driver's live migration reaches commitment.
  let switchover: SwitchoverStyle

  init(_ unfinished: UnfinishedMove, _ placements: [VMPlacement], switchover: SwitchoverStyle = .staged) {
    self.unfinished = unfinished
    self.placements = placements
    self.switchover = switchover
  }

  var move: PlannedMove { unfinished.move }
  /// The VM's state on its source host, if it is there.
  var source: VMPlacementState? { placements.first { $0.host == move.from }?.state }
  /// The VM's state on its destination host, if it is there.
  var destination: VMPlacementState? { placements.first { $0.host == move.to }?.state }
  var elsewhere: [VMPlacement] { placements.filter { $0.host != move.from && $0.host != move.to } }
  /// Number of the last stage whose intent was written (-1: none).
  var reached: Int { unfinished.lastStage?.number ?? -1 }
  /// Commitment succeeded (or a later stage began): the source copy was given up.
  var committed: Bool { unfinished.pastCommitment }
  /// Commitment's intent was written: the source may already be (partly) given up.
  var committing: Bool { reached >= MigrationStage.commitment.number }

  /// What was found, for the journal: `running on a, paused on b`, with the journal's position.
  var found: String {
    let location =
      placements.isEmpty
      ? "found on no host"
      : placements.map { "\($0.state.rawValue) on \($0.host)" }.joined(separator: ", ")
    let stage =
      unfinished.lastStage.map {
        "last stage \($0.rawValue) (\(unfinished.lastStageSucceeded ? "succeeded" : "not finished"))"
      } ?? "no stage begun"
    return "\(move.kind.rawValue) move of \(move.vm) \(move.from) → \(move.to) interrupted at \(stage); VM \(location)"
  }

  func decide() -> Decision {
    if !elsewhere.isEmpty {
      let hosts = elsewhere.map(\.host).joined(separator: ", ")
      return .needsAttention(
        detail: "\(found): it is on \(hosts), which is neither source nor destination — find out who moved it; "
          + "Ballast changed nothing")
    }
    if source == .running && destination == .running {
      return .needsAttention(
        detail: "\(found): it runs on two hosts — stop the copy on \(committed ? move.from : move.to) "
          + "(\(committed ? "the source was given up at commitment" : "commitment was never reached")) "
          + "and remove its definition")
    }
    switch move.kind {
    case .live: return decideLive()
    case .cold: return decideCold()
    }
  }

  // MARK: Live

  private func decideLive() -> Decision {
    switch (source, destination) {
    case (_, .running?):
      guard committing else {
        return .needsAttention(
          detail: "\(found): it runs on the destination although commitment was never begun — check that "
            + "\(move.to) holds a complete copy before removing anything on \(move.from)")
      }
      if source == nil {
        return .complete(
          confirmations + [.confirm(.activation)], detail: "\(found): activation had finished; recorded it")
      }
      return .complete(
        confirmations + [.perform(.activation, .activate)],
        detail: "\(found): finished activation on \(move.to) and removed the paused source on \(move.from)")

    case (.running?, let destination):
      guard !committed else {
        return .needsAttention(
          detail: "\(found): the source runs again although commitment was recorded, so the copy on "
            + "\(move.to) is stale — keep \(move.from), then remove the VM on \(move.to)")
      }
      guard destination != nil else {
        return .rollBack([], detail: "\(found): nothing to undo; it runs on \(move.from)")
      }
      return .rollBack(
        [.releaseDestination],
        detail: "\(found): it runs on \(move.from); removed the \(describe(destination)) container on \(move.to)")

    case (.paused?, let destination):
      if committed {
        guard destination == .paused else {
          return .needsAttention(
            detail: "\(found): commitment was recorded but \(move.to) holds \(describe(destination)), not a "
              + "complete paused copy — resume it on \(move.from) by hand (virsh resume / QMP cont) if its "
              + "state there is intact")
        }
        return .complete(
          [.perform(.activation, .activate)],
          detail: "\(found): activated on \(move.to) and removed the paused source on \(move.from)")
      }
      let rollback: [RollbackStep] = destination == nil ? [.resumeOnSource] : [.resumeOnSource, .releaseDestination]
      let rolledBack =
        "resumed it on \(move.from)"
        + (destination == nil ? "" : " and removed the \(describe(destination)) container on \(move.to)")
      if committing && switchover == .atomic {
        // Killed inside an atomic switchover (its intents are journaled before the one driver
        // call): the source is still there, so the backend never gave it up. Its job may still
        // run (libvirt peer-to-peer): resumeOnSource aborts it and resumes the source; if that
        // fails the move stays unresolved — never guess which copy is whole.
        return .rollBack(
          rollback,
          detail: "\(found): the driver's atomic switchover had not given up the source; aborted it, " + rolledBack)
      }
      if committing && destination == .paused {
        // Killed during commitment: the destination may or may not have confirmed. Ask it again;
        // if it confirms, finish forward, else the source (intact, paused) takes the VM back.
        return .recommit(
          then: [.perform(.activation, .activate)],
          detail: "\(found): the destination confirmed the copy again; activated on \(move.to) and removed the "
            + "paused source on \(move.from)",
          orElse: rollback,
          rollbackDetail: "\(found): the destination did not confirm the copy; " + rolledBack)
      }
      return .rollBack(rollback, detail: "\(found): commitment was never reached; " + rolledBack)

    case (let source, .paused?):
      // The source is gone (or only defined, off): it was given up, so the destination's copy is
      // the VM, provided commitment had begun. For an atomic switchover this is how the driver's
      // call leaves a committed move: the VM waits, paused, for activation.
      guard committing else {
        return .needsAttention(
          detail: "\(found): the source is \(describe(source)) although commitment was never begun — the "
            + "paused copy on \(move.to) may be incomplete; do not resume it before checking")
      }
      return .complete(
        confirmations + [.perform(.activation, .activate)],
        detail: "\(found): the source was given up; activated on \(move.to)")

    case (let source, let destination):
      return .needsAttention(
        detail: "\(found): it runs nowhere (source \(describe(source)), destination \(describe(destination))) — "
          + "start it on \(move.from) if its disks there are intact")
    }
  }

  // MARK: Cold

  private var wasRunning: Bool { move.requiresShutdown }

  private func decideCold() -> Decision {
    if committing {
      if source == .running {
        return .needsAttention(
          detail: "\(found): it runs on the source although commitment had begun — stop it and check which "
            + "copy is complete before removing anything")
      }
      guard let destination, destination != .incoming else {
        return .needsAttention(
          detail: "\(found): commitment had begun but the VM is not registered on \(move.to) — check its files "
            + "on \(move.from) and \(move.to) before starting it anywhere")
      }
      var steps: [ForwardStep] = []
      if !committed || source != nil { steps.append(.perform(.commitment, .removeSource)) }
      if wasRunning && destination != .running {
        steps.append(.perform(.start, .startOnDestination))
      } else if unfinished.lastStage == .start {
        steps.append(.confirm(.start))
      }
      let started = wasRunning ? (destination == .running ? "; it already runs there" : "; started it") : ""
      return .complete(
        steps,
        detail: "\(found): the destination copy was verified; "
          + (source != nil || !committed ? "removed the source on \(move.from)" : "the source was already removed")
          + started)
    }
    if destination == .running {
      return .needsAttention(
        detail: "\(found): it runs on \(move.to) although commitment was never begun — check that its copy is "
          + "complete before removing the source")
    }
    guard let source else {
      return .needsAttention(
        detail: "\(found): the source definition is gone although commitment was never begun — check the files "
          + "on \(move.from) and \(move.to)")
    }
    var steps: [RollbackStep] = []
    if reached >= MigrationStage.reservation.number { steps.append(.discardDestination) }
    var done = "it stays on \(move.from)"
    if wasRunning && source == .stopped {
      steps.append(.startOnSource)
      done = "started it again on \(move.from)"
    } else if source == .running {
      done = "it runs on \(move.from)"
    }
    return .rollBack(
      steps,
      detail: "\(found): commitment was never reached; "
        + (steps.contains(.discardDestination) ? "removed what was copied to \(move.to); " : "") + done)
  }

  /// Outcomes to confirm before completing: commitment, when its intent was written but not its
  /// success (the source is gone, so it happened).
  private var confirmations: [ForwardStep] {
    unfinished.lastStage == .commitment && !unfinished.lastStageSucceeded ? [.confirm(.commitment)] : []
  }

  private func describe(_ state: VMPlacementState?) -> String { state?.rawValue ?? "absent" }
}
