/// The range every quantity Ballast reads may take: cluster files, policy files, simulated
/// state files and command-line flags are checked against these when they are read, with
/// the file and line of a value out of range.
///
/// The bounds are far beyond any real cluster yet small enough that no sum, product or
/// formatting of accepted values can overflow (sums of many VMs' memory saturate, see
/// ``ByteCount``). The README ("Ranges") and `policies/balanced.yaml` list them.
public enum Limits {
  // MARK: Counts

  /// Physical cores of a host.
  public static let hostCores = 1...65_536
  /// Virtual CPUs of a VM (QEMU's own limit is lower).
  public static let vcpus = 1...4_096
  /// Moves one balance round may plan.
  public static let movesPerRound = 1...10_000
  /// Migrations one host takes part in at once.
  public static let concurrencyPerHost = 1...1_000
  /// Migrations in the whole cluster at once.
  public static let concurrencyCluster = 1...100_000
  /// Pre-copy rounds of a live migration (`convergence.maxRounds`).
  public static let preCopyRounds = 1...1_000
  /// Bytes of a name (VM, host, datastore, cluster, rule, label): what one file-name
  /// component can hold on every file system.
  public static let nameBytes = 1...255
  /// Bytes of a path written in a file (`labRoot`, a datastore's or disk's `path`, `trace`).
  public static let pathBytes = 1...4_096

  // MARK: Bytes

  /// Physical memory of a host.
  public static let hostMemory = ByteCount.mib(1)...ByteCount.pib(1)
  /// Allocated memory of a VM.
  public static let vmMemory = ByteCount.mib(1)...ByteCount.pib(1)
  /// Size of one disk.
  public static let diskSize = ByteCount(1)...ByteCount.pib(1)
  /// A VM's writable working set (also at most its memory).
  public static let workingSet = ByteCount.zero...ByteCount.pib(1)

  // MARK: Rates

  /// A host's migration link, and a policy's per-migration cap.
  public static let linkBandwidth = Bandwidth(bytesPerSecond: 1_000)...Bandwidth.gbit(10_000)
  /// Rate at which a guest dirties its memory.
  public static let dirtyRate = Bandwidth.zero...Bandwidth.gbit(10_000)

  // MARK: Durations

  /// How long the imbalance must last before the loop acts.
  public static let holdFor = TimeSpan.zero...TimeSpan.days(30)
  /// How long a VM that moved stays put.
  public static let cooldown = TimeSpan.zero...TimeSpan.days(365)
  /// Downtime limits of a live migration.
  public static let downtime = TimeSpan.milliseconds(1)...TimeSpan.hours(1)
  /// Time between two rounds of the balancing loop (on the cluster's clock).
  public static let interval = TimeSpan.seconds(1)...TimeSpan.days(1)
  /// Window load is smoothed over.
  public static let window = TimeSpan.zero...TimeSpan.days(30)
  /// Age after which a host's samples are stale.
  public static let staleAfter = TimeSpan.seconds(1)...TimeSpan.days(30)
  /// How long host samples are kept in the history (also at least holdFor + 3 intervals).
  public static let sampleRetention = TimeSpan.hours(1)...TimeSpan.days(3_650)
  /// Time of a load sample: seconds from the start of a trace, or since the Unix epoch
  /// (up to the year 2286).
  public static let sampleTime = TimeSpan.zero...TimeSpan(seconds: 1e10)

  // MARK: Clocks

  /// A point in time, in seconds since the Unix epoch (virtual clocks included): up to 2286.
  public static let clockTime = 0.0...1e10
  /// Virtual seconds per real second of a paced simulated cluster (`--pace`).
  public static let pace = 0.01...100_000.0
  /// Shortest real time between two rounds of the balancing loop, whatever the pace: at a
  /// high pace an interval on the cluster's clock is stretched to this much real time.
  public static let minimumRealInterval = TimeSpan.milliseconds(50)
}

extension ClosedRange where Bound: CustomStringConvertible {
  /// `from 1 to 4096`: the range in the words of an error message.
  public var phrase: String { "from \(lowerBound) to \(upperBound)" }
}

extension TimeSpan {
  /// `n` days.
  public static func days(_ n: Double) -> TimeSpan { TimeSpan(seconds: n * 86_400) }
}

extension ClosedRange where Bound == Bandwidth {
  /// `from 8kbit/s to 10Tbit/s`: link speeds in bits, as they are usually written.
  public var phrase: String { "from \(lowerBound.bitsDescription) to \(upperBound.bitsDescription)" }
}

extension Bandwidth {
  /// The rate in bits per second with at most two decimals: `10Tbit/s`, `800Mbit/s`, `8kbit/s`.
  var bitsDescription: String {
    UnitParser.format(
      bytesPerSecond * 8, units: [("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3), ("bit/s", 1)])
  }
}
