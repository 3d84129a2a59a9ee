import Foundation

/// Reads a running process's state, CPU time and memory from `/proc`.
public enum ProcessInspector {
  /// Figures of one process at one instant.
  public struct Sample: Sendable, Hashable {
    public var pid: Int32
    /// User + system CPU time consumed so far, in seconds.
    public var cpuSeconds: Double
    /// Resident memory in bytes.
    public var residentBytes: Int64
    /// Seconds since the process started.
    public var ageSeconds: Double
    /// When the sample was taken (monotonic seconds, `/proc/uptime`).
    public var takenAt: Double
  }

  /// Clock ticks per second of `/proc/PID/stat` times.
  static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
  static let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))

  /// The pid written in `pidfile`, if the file exists and holds a number.
  public static func pid(inFile pidfile: String) -> Int32? {
    guard let text = try? String(contentsOfFile: pidfile, encoding: .utf8) else { return nil }
    return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
  }

  /// Whether `pid` is alive (not a zombie) and its command line contains `marker`
  /// (so a recycled pid is not mistaken for our QEMU).
  public static func isAlive(_ pid: Int32, commandLineContains marker: String) -> Bool {
    guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
    guard let stat = statFields(pid), stat.count > 2, stat[2] != "Z", stat[2] != "X" else { return false }
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
    let commandLine = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    return commandLine.contains(marker)
  }

  /// CPU time, resident memory and age of `pid`; `nil` when it is gone.
  public static func sample(_ pid: Int32) -> Sample? {
    guard let fields = statFields(pid), fields.count > 23 else { return nil }
    // Fields (1-based in proc(5)): 14 utime, 15 stime, 22 starttime, 24 rss (pages).
    guard let utime = Double(fields[13]), let stime = Double(fields[14]), let start = Double(fields[21]),
      let rss = Int64(fields[23]), let uptime = uptimeSeconds()
    else { return nil }
    return Sample(
      pid: pid, cpuSeconds: (utime + stime) / ticksPerSecond, residentBytes: rss * pageSize,
      ageSeconds: max(uptime - start / ticksPerSecond, 0), takenAt: uptime)
  }

  /// Fraction of one CPU used between two samples of the same process (or since its start
  /// when `previous` is `nil`).
  public static func cpuFraction(_ now: Sample, since previous: Sample?) -> Double {
    if let previous, previous.pid == now.pid, now.takenAt > previous.takenAt {
      return max(now.cpuSeconds - previous.cpuSeconds, 0) / (now.takenAt - previous.takenAt)
    }
    return now.ageSeconds > 0 ? now.cpuSeconds / now.ageSeconds : 0
  }

  /// The fields of `/proc/PID/stat`, with the command name (which may hold spaces) as one field.
  static func statFields(_ pid: Int32) -> [String]? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
    let text = String(decoding: data, as: UTF8.self)
    guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
    let head = text[..<open].trimmingCharacters(in: .whitespaces)
    let name = String(text[text.index(after: open)..<close])
    let rest = text[text.index(after: close)...].split(separator: " ").map(String.init)
    return [head, name] + rest
  }

  static func uptimeSeconds() -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8) else { return nil }
    return text.split(separator: " ").first.flatMap { Double($0) }
  }
}
