import BallastModel

/// The stages of a migration (docs/ARCHITECTURE.md, "The stages"). Both kinds have six, numbered 0–5.
public enum MigrationStage: String, Sendable, Hashable, Codable, CaseIterable {
  // Live (pre-copy).
  case preMigration
  case reservation
  case preCopy
  case stopAndCopy
  case commitment
  case activation
  // Cold.
  case verifyOff
  case copy
  case register
  case start

  /// The stages of `kind`, in order. `reservation` and `commitment` are shared by both.
  public static func stages(for kind: MigrationKind) -> [MigrationStage] {
    switch kind {
    case .live: [.preMigration, .reservation, .preCopy, .stopAndCopy, .commitment, .activation]
    case .cold: [.verifyOff, .reservation, .copy, .register, .commitment, .start]
    }
  }

  /// Position 0–5 within its kind.
  public var number: Int {
    switch self {
    case .preMigration, .verifyOff: 0
    case .reservation: 1
    case .preCopy, .copy: 2
    case .stopAndCopy, .register: 3
    case .commitment: 4
    case .activation, .start: 5
    }
  }

  /// Whether the source copy has been given up once this stage has succeeded.
  /// Before commitment every failure leaves the VM on its source.
  public var isPastCommitment: Bool { number >= 4 }
}

/// How a stage ended.
public enum StageOutcome: String, Sendable, Hashable, Codable, CaseIterable {
  case succeeded
  case failed
  /// Undone after a later failure (e.g. a reservation released).
  case rolledBack
  /// Stopped on request (cancellation) before it completed; or, for a stage whose intent was
  /// journaled ahead of an atomic switchover, never reached because the move stopped earlier.
  case aborted
}

/// How a whole move ended.
public enum MoveOutcome: String, Sendable, Hashable, Codable, CaseIterable {
  /// The VM runs (or sits, if it was off) on the destination.
  case completed
  /// Not started or given up before commitment; the VM is untouched on its source.
  case rolledBack
  /// Not attempted (cancellation, a dependency failed, re-check rejected it).
  case skipped
  /// Past commitment and activation did not complete: an operator must look.
  case needsAttention
}

/// Figures a stage reports; every field is optional and stored as readable JSON.
public struct StageFigures: Sendable, Hashable, Codable {
  public var round: Int?
  public var bytesSent: Double?
  public var bytesDirtied: Double?
  public var remaining: Double?
  public var bandwidthBytesPerSecond: Double?
  public var downtimeMs: Double?
  public var throttle: Double?
  public var checksum: String?
  public var note: String?

  public init(
    round: Int? = nil, bytesSent: Double? = nil, bytesDirtied: Double? = nil, remaining: Double? = nil,
    bandwidthBytesPerSecond: Double? = nil, downtimeMs: Double? = nil, throttle: Double? = nil,
    checksum: String? = nil, note: String? = nil
  ) {
    self.round = round
    self.bytesSent = bytesSent
    self.bytesDirtied = bytesDirtied
    self.remaining = remaining
    self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
    self.downtimeMs = downtimeMs
    self.throttle = throttle
    self.checksum = checksum
    self.note = note
  }
}

/// What a migration measured, recorded next to what was predicted.
public struct MeasuredCost: Sendable, Hashable, Codable {
  public var seconds: Double
  public var downtimeMs: Double
  public var bytes: Double
  public var rounds: Int

  public init(seconds: Double, downtimeMs: Double, bytes: Double, rounds: Int) {
    self.seconds = seconds
    self.downtimeMs = downtimeMs
    self.bytes = bytes
    self.rounds = rounds
  }
}
