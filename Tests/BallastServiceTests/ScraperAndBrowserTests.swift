import BallastService
import Foundation
import Testing

/// Real clients of the endpoint: a Prometheus server scraping it, and a headless Chromium
/// drawing the status page. Both are Debian packages `.ci/run` installs.
@Suite("Prometheus and Chromium against the loop", .serialized)
struct ScraperAndBrowserTests {
  @Test(.timeLimit(.minutes(3)))
  func aPrometheusServerScrapesTheLoopAndItsQueryAPIReturnsTheImbalance() async throws {
    let prometheus = try #require(ExternalTool("prometheus"), "Debian's prometheus package is not installed")
    let loop = try LoopProcess(folder: try LoopProcess.workspace())
    var server: ChildProcess?
    do {
      let port = try await loop.port()
      let serverPort = try TCPListener.freePort()
      try """
      global: {scrape_interval: 1s, evaluation_interval: 1s}
      scrape_configs:
        - job_name: ballast
          static_configs: [{targets: ['127.0.0.1:\(port)']}]
      """.write(to: loop.folder.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
      let started = try ChildProcess(
        prometheus.path,
        [
          "--config.file=prometheus.yml", "--storage.tsdb.path=prometheus-data",
          "--web.listen-address=127.0.0.1:\(serverPort)", "--log.level=warn",
        ], in: loop.folder, name: "prometheus")
      server = started
      let query = "http://127.0.0.1:\(serverPort)/api/v1/query?query="
      var series: [[String: Any]] = []
      let answered = try await started.wait(upTo: 90) {
        guard started.isRunning else { return true }
        guard let answer = try? await HTTP.request(query + "ballast_imbalance"), answer.status == 200 else {
          return false
        }
        let data = try answer.json()["data"] as? [String: Any]
        series = data?["result"] as? [[String: Any]] ?? []
        return series.count == 2
      }
      #expect(answered && series.count == 2, "Prometheus: \(started.stderr)")
      let kinds = Set(series.compactMap { ($0["metric"] as? [String: Any])?["kind"] as? String })
      #expect(kinds == ["measured", "smoothed"])
      for sample in series {
        let value = (sample["value"] as? [Any])?.last as? String
        let number = value.flatMap(Double.init)
        #expect(number.map { $0 >= 0 && $0 < 1 } == true, "\(sample)")
        #expect((sample["metric"] as? [String: Any])?["job"] as? String == "ballast")
      }
      let up = try await HTTP.request(query + "up%7Bjob%3D%22ballast%22%7D").json()
      let upValue = (((up["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first?["value"] as? [Any])?.last
      #expect(upValue as? String == "1", "\(up)")
    } catch {
      Issue.record("\(error)\n\(loop.child.stderr)")
    }
    await server?.stop()
    await loop.tearDown()
  }

  @Test(.timeLimit(.minutes(3)))
  func theStatusPageDrawsHostBarsAndTheImbalanceChartInHeadlessChromium() async throws {
    let chromium = try #require(
      ExternalTool("chromium") ?? ExternalTool("chromium-browser"), "Debian's chromium package is not installed")
    let loop = try LoopProcess(folder: try LoopProcess.workspace())
    var browser: ChildProcess?
    do {
      let port = try await loop.port()
      _ = try await EndpointProcessTests.settled(loop, port: port)
      let started = try ChildProcess(
        chromium.path,
        [
          "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
          "--user-data-dir=\(loop.folder.appendingPathComponent("chromium-profile").path)",
          "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000", "--window-size=412,915",
          "--dump-dom", "http://127.0.0.1:\(port)/",
        ], in: loop.folder, name: "chromium")
      browser = started
      let exit = await started.exitStatus(within: 120)
      #expect(exit == 0, "chromium: \(started.stderr)")
      let dom = started.stdout
      #expect(dom.contains(#"data-state="ok""#), "the page did not draw the API's answer:\n\(dom)")
      #expect(dom.contains(#"data-errors="0""#), "script errors:\n\(dom)")
      #expect(!started.stderr.contains("Uncaught"), "\(started.stderr)")
      for host in ["h1", "h2", "h3", "h4", "h5"] {
        #expect(dom.contains(#"data-host="\#(host)""#), "no bar for \(host)")
      }
      #expect(dom.components(separatedBy: #"class="bar cpu"#).count - 1 == 5)
      #expect(dom.components(separatedBy: #"class="bar memory"#).count - 1 == 5)
      #expect(dom.contains("CPU 4") || dom.contains("CPU 3") || dom.contains("CPU 2"), "no CPU percentage drawn")
      let line = try #require(dom.range(of: #"id="imbalance-line""#), "no imbalance line in the chart:\n\(dom)")
      #expect(dom[line.upperBound...].prefix(200).contains(#"d="M"#))
      #expect(dom.contains(#"id="threshold-line""#))
      #expect(dom.contains("<td>completed</td>"), "the last migrations are not listed")
    } catch {
      Issue.record("\(error)\n\(loop.child.stderr)")
    }
    await browser?.stop()
    await loop.tearDown()
  }
}
