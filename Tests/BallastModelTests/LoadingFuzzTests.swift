import Foundation
import Testing

@testable import BallastModel

/// Issue 11: thousands of seeded mutations of the shipped cluster and policy files. Loading
/// must never trap or hang, every error must point at a line, and whatever loads must be
/// usable (utilization, imbalance, writing it back) without trapping.
@Suite("Loading fuzz")
struct LoadingFuzzTests {
  /// Tokens that broke loading once, or could: huge and non-finite numbers, YAML syntax,
  /// control characters, path tricks.
  static let tokens = [
    "9223372036854775807", "99999999999999999999999999999999", String(repeating: "9", count: 400), "-1", "0", "inf",
    "-inf", "nan", ".inf", "1e400", "1e308", "0x1p3", "5000000TiB", "1" + String(repeating: "0", count: 30) + "Gbit/s",
    "1ms", "0.0001ms", "1000000000000000000000000000000d", "{", "}", "[", "]", ":", ": ", "- ", "#", "&a", "*a",
    "!!str",
    "|", ">", "\"", "'", "\\", "%", "@", "`", "\t", "\u{0}", "\u{7}", "\u{1B}", "\u{FEFF}", "\u{2028}", "../../x",
    "a/b",
    "inj,foo=bar", "~", "null", "true", "<<: *a", "? ", "---", "...", "é", "🚀",
  ]

  @Test(.timeLimit(.minutes(2))) func mutatedShippedFilesLoadOrFailWithLines() async throws {
    let cluster = try String(contentsOfFile: "\(repositoryRoot)/clusters/demo.yaml", encoding: .utf8)
    let policy = try String(contentsOfFile: "\(repositoryRoot)/policies/balanced.yaml", encoding: .utf8)
    let base = try ClusterFile.parse(cluster, file: "demo.yaml")
    var random = SeededRandom(seed: 11)
    var loaded = 0
    var refused = 0
    for round in 0..<2_500 {
      await Task.yield()  // CPU-bound: let the other suites' tasks run on the shared threads
      let isCluster = round % 3 != 2
      let mutated = Self.mutate(isCluster ? cluster : policy, count: 1 + random.index(3), random: &random)
      let text: String
      do {
        text = try TextFile.decode(mutated, file: "m.yaml")
      } catch let errors as FileErrors {
        #expect(errors.issues.allSatisfy { $0.line > 0 }, "round \(round): \(errors)")
        refused += 1
        continue
      }
      do {
        if isCluster {
          let result = try ClusterFile.parse(text, file: "m.yaml")
          _ = Imbalance.of(result)
          _ = zip(result.hosts, result.hostLoads()).map { $1.utilization(of: $0).weighted(MetricWeights()) }
          #expect(try ClusterFile.parse(ClusterWriter.yaml(result), file: "again.yaml") == result, "round \(round)")
        } else {
          let result = try PolicyFile.parse(text, file: "m.yaml", cluster: base)
          _ =
            "\(result.holdFor) \(result.cooldown) \(result.bandwidthCap?.description ?? "") \(result.monitor.interval)"
          _ = result.minimumGain(activeHosts: 5)
        }
        loaded += 1
      } catch let errors as FileErrors {
        refused += 1
        #expect(!errors.issues.isEmpty)
        for issue in errors.issues {
          #expect(issue.line > 0 && issue.column > 0, "round \(round): \(issue)")
          #expect(issue.message.count < 600, "round \(round): a message of \(issue.message.count) characters")
        }
      }
    }
    #expect(loaded > 100 && refused > 1_000, "the mutations should both keep and break files: \(loaded)/\(refused)")
  }

  /// `text` with `count` random edits: a token inserted or put in place of a value, a line
  /// deleted, duplicated or moved, a byte flipped (perhaps into invalid UTF-8), or the file cut.
  static func mutate(_ text: String, count: Int, random: inout SeededRandom) -> [UInt8] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var bytes: [UInt8]?
    for _ in 0..<count {
      let i = random.index(lines.count)
      switch random.index(8) {
      case 0:
        let token = tokens[random.index(tokens.count)]
        let line = Array(lines[i])
        let at = line.isEmpty ? 0 : random.index(line.count + 1)
        lines[i] = String(line[..<at]) + token + String(line[at...])
      case 1:
        if let colon = lines[i].firstIndex(of: ":") {
          lines[i] = String(lines[i][...colon]) + " " + tokens[random.index(tokens.count)]
        }
      case 2: lines.remove(at: i)
      case 3: lines.insert(lines[i], at: random.index(lines.count))
      case 4: lines.swapAt(i, random.index(lines.count))
      case 5: lines[i] = String(repeating: " ", count: random.index(6)) + lines[i].drop { $0 == " " }
      case 6:
        var raw = Array(lines.joined(separator: "\n").utf8)
        raw[random.index(raw.count)] = UInt8(truncatingIfNeeded: random.next())
        bytes = raw
      default: lines = Array(lines.prefix(random.index(lines.count) + 1))
      }
      if lines.isEmpty { lines = [""] }
    }
    return bytes ?? Array(lines.joined(separator: "\n").utf8)
  }
}
