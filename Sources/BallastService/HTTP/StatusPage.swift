/// The live status page served at `/`: one self-contained HTML document (no external fonts,
/// scripts or styles) that reads the JSON API every few seconds and draws it.
///
/// It shows a bar per host for CPU and memory (as `ballast status` draws them), the imbalance
/// over the last hours against the threshold (from the recorded host samples), the moves in
/// flight with their stage, the last round's decision, and the last migrations with predicted
/// against measured time and downtime. It only reads: nothing on it can move a VM. Names from
/// the cluster go into the page as text, never as markup. When it has drawn the API's answer
/// it sets `data-state="ok"` on `<body>`; script errors are shown on the page and counted in
/// `data-errors` (the headless-browser test reads both).
enum StatusPage {
  static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Ballast</title>
    <style>
    :root { color-scheme: light dark; --fg: #1d2330; --muted: #6b7385; --bg: #f6f7f9; --card: #fff;
      --line: #d9dde5; --cpu: #3b7dd8; --mem: #8a5cd0; --hot: #d8453b; --ok: #2e9e5b; --warn: #c98a12; }
    @media (prefers-color-scheme: dark) {
      :root { --fg: #e6e9ef; --muted: #9aa3b5; --bg: #151820; --card: #1e222c; --line: #323846; }
    }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
      background: var(--bg); }
    main { max-width: 980px; margin: 0 auto; padding: 12px; }
    header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px 16px; }
    h1 { font-size: 22px; margin: 4px 0; }
    h2 { font-size: 16px; margin: 0 0 8px; }
    section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px;
      margin: 12px 0; }
    .muted { color: var(--muted); }
    .pill { display: inline-block; padding: 2px 10px; border-radius: 999px; color: #fff; background: var(--muted);
      font-weight: 600; }
    .pill.ok { background: var(--ok); } .pill.bad { background: var(--hot); } .pill.warn { background: var(--warn); }
    .host { display: grid; grid-template-columns: minmax(60px, 140px) 1fr 1fr; gap: 4px 10px; align-items: center;
      padding: 4px 0; border-bottom: 1px solid var(--line); }
    .host:last-child { border-bottom: 0; }
    .host .name { font-weight: 600; overflow-wrap: anywhere; }
    .bar { position: relative; height: 20px; background: var(--line); border-radius: 4px; overflow: hidden; }
    .bar .fill { height: 100%; }
    .bar.cpu .fill { background: var(--cpu); } .bar.memory .fill { background: var(--mem); }
    .bar.over .fill { background: var(--hot); }
    .bar .label { position: absolute; inset: 0; padding: 0 6px; font-size: 12px; line-height: 20px;
      text-align: right; font-variant-numeric: tabular-nums; }
    .legend { font-size: 13px; }
    .legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px;
      border-radius: 2px; background: var(--swatch); }
    svg { width: 100%; height: auto; display: block; }
    svg text { fill: var(--muted); font-size: 12px; }
    .table { overflow-x: auto; }
    table { border-collapse: collapse; width: 100%; font-size: 14px; }
    th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
    td.wrap { white-space: normal; min-width: 200px; }
    #error { color: var(--hot); font-weight: 600; }
    @media (max-width: 560px) {
      .host { grid-template-columns: 1fr 1fr; }
      .host .name { grid-column: 1 / -1; }
    }
    </style>
    </head>
    <body data-state="loading" data-errors="0">
    <main>
    <header>
      <h1>Ballast <span id="cluster" class="muted"></span></h1>
      <span id="health" class="pill">loading…</span>
      <span id="updated" class="muted"></span>
    </header>
    <p id="error" role="alert"></p>
    <section>
      <h2>Imbalance <span id="imbalance-now" class="muted"></span></h2>
      <svg id="chart" viewBox="0 0 640 180" role="img" aria-label="Imbalance over the last hours with the threshold">
      </svg>
      <div class="legend muted"><span style="--swatch: var(--cpu)">imbalance</span>
        <span style="--swatch: var(--hot)">threshold</span></div>
    </section>
    <section>
      <h2>Hosts</h2>
      <div class="legend muted"><span style="--swatch: var(--cpu)">CPU</span>
        <span style="--swatch: var(--mem)">memory</span></div>
      <div id="hosts"></div>
    </section>
    <section>
      <h2>Moves in flight</h2>
      <div class="table"><table>
        <thead><tr><th>VM</th><th>kind</th><th>from → to</th><th>stage</th><th>started</th></tr></thead>
        <tbody id="inflight"></tbody>
      </table></div>
    </section>
    <section>
      <h2>Broken rules</h2>
      <ul id="violations" class="muted"></ul>
    </section>
    <section>
      <h2>Last round</h2>
      <p id="round" class="muted">no round yet</p>
      <p id="lease" class="muted"></p>
    </section>
    <section>
      <h2>Last migrations</h2>
      <div class="table"><table>
        <thead><tr><th>started</th><th>VM</th><th>kind</th><th>from → to</th><th>time pred / meas</th>
          <th>downtime pred / meas</th><th>outcome</th></tr></thead>
        <tbody id="migrations"></tbody>
      </table></div>
    </section>
    <p class="muted">Read-only view of the balancing loop; it refreshes every 5 seconds.
      JSON: <a href="api/status">api/status</a>, <a href="api/history">api/history</a>,
      <a href="api/imbalance">api/imbalance</a>; <a href="metrics">metrics</a>.</p>
    </main>
    <script>
    "use strict";
    (function () {
      const body = document.body;
      function noteError(message) {
        body.dataset.errors = String(Number(body.dataset.errors) + 1);
        document.getElementById("error").textContent = "Script error: " + message;
      }
      window.addEventListener("error", function (event) { noteError(event.message); });
      window.addEventListener("unhandledrejection", function (event) { noteError(String(event.reason)); });

      const SVG = "http://www.w3.org/2000/svg";
      function el(tag, text, className) {
        const node = document.createElement(tag);
        if (text !== undefined && text !== null) node.textContent = String(text);
        if (className) node.className = className;
        return node;
      }
      function svg(tag, attributes, text) {
        const node = document.createElementNS(SVG, tag);
        for (const key of Object.keys(attributes)) node.setAttribute(key, String(attributes[key]));
        if (text !== undefined) node.textContent = text;
        return node;
      }
      function row(cells) {
        const tr = el("tr");
        for (const cell of cells) tr.appendChild(el("td", cell));
        return tr;
      }
      function finite(x) { return typeof x === "number" && isFinite(x); }
      function percent(x) { return finite(x) ? Math.round(x * 100) + "%" : "–"; }
      function seconds(x) {
        if (!finite(x)) return "–";
        if (x < 60) return x.toFixed(x < 10 ? 1 : 0) + " s";
        if (x < 3600) return Math.floor(x / 60) + " m " + Math.round(x % 60) + " s";
        return Math.floor(x / 3600) + " h " + Math.round((x % 3600) / 60) + " m";
      }
      function milliseconds(x) { return finite(x) ? (x < 1000 ? Math.round(x) + " ms" : seconds(x / 1000)) : "–"; }
      function time(unix) { return finite(unix) ? new Date(unix * 1000).toLocaleString() : "–"; }

      function bar(ratio, resource) {
        const outer = el("div", null, "bar " + resource + (ratio > 1 ? " over" : ""));
        outer.setAttribute("role", "meter");
        outer.setAttribute("aria-label", resource + " " + percent(ratio));
        const fill = el("div", null, "fill");
        fill.style.width = (finite(ratio) ? Math.max(0, Math.min(1, ratio)) * 100 : 0) + "%";
        outer.appendChild(fill);
        outer.appendChild(el("span", resource === "cpu" ? "CPU " + percent(ratio) : "mem " + percent(ratio), "label"));
        return outer;
      }

      function renderStatus(status) {
        document.getElementById("cluster").textContent = status.cluster;
        const health = document.getElementById("health");
        const ready = status.readiness.status === "ok";
        health.textContent = status.role === "standby" ? "standby" : ready ? "balancing" : status.health.status;
        health.className = "pill " + (ready ? "ok" : status.health.status === "ok" ? "warn" : "bad");
        health.title = status.readiness.reason;
        document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();

        const hosts = document.getElementById("hosts");
        hosts.replaceChildren();
        for (const host of status.hosts) {
          const line = el("div", null, "host");
          line.dataset.host = host.name;
          line.appendChild(el("div", host.name + (host.state === "active" ? "" : " (" + host.state + ")"), "name"));
          line.appendChild(bar(host.cpu, "cpu"));
          line.appendChild(bar(host.memory, "memory"));
          hosts.appendChild(line);
        }
        if (status.hosts.length === 0) hosts.appendChild(el("p", "No round has sampled the hosts yet.", "muted"));

        const imbalance = status.imbalance;
        document.getElementById("imbalance-now").textContent = imbalance
          ? "now " + imbalance.smoothed.toFixed(3) + " smoothed, " +
            (finite(imbalance.measured) ? imbalance.measured.toFixed(3) : "–") + " measured; threshold " +
            imbalance.threshold.toFixed(3)
          : "";

        const inflight = document.getElementById("inflight");
        inflight.replaceChildren();
        for (const move of status.movesInFlight) {
          inflight.appendChild(row([move.vm, move.kind, move.from + " → " + move.to,
            (move.stage || "starting") + (finite(move.preCopyRound) ? " (round " + move.preCopyRound + ")" : ""),
            time(move.startedAt)]));
        }
        if (status.movesInFlight.length === 0) {
          const tr = row(["none"]);
          tr.firstChild.colSpan = 5;
          inflight.appendChild(tr);
        }

        const violations = document.getElementById("violations");
        violations.replaceChildren();
        for (const violation of status.violations) {
          const li = document.createElement("li");
          li.textContent = (violation.hard ? "hard: " : "soft: ") + violation.sentence;
          violations.appendChild(li);
        }
        if (status.violations.length === 0) {
          const li = document.createElement("li");
          li.textContent = "none";
          violations.appendChild(li);
        }

        const round = status.lastRound;
        document.getElementById("round").textContent = round
          ? time(round.endedAt) + " — " + round.decision + ": " + round.message
          : status.lastError ? "rounds failing: " + status.lastError : "no round yet";
        const lease = status.lease;
        document.getElementById("lease").textContent = lease
          ? "Migration lease: " + lease.holder + (lease.ours ? " (this process)" : "") + ", until " +
            time(lease.expiresAt)
          : "Migration lease: free";
      }

      function renderChart(history) {
        const chart = document.getElementById("chart");
        chart.replaceChildren();
        // Drawn in the chart's own pixels, so its text stays readable on a phone.
        const width = Math.max(280, Math.round(chart.clientWidth || 640)), height = 180;
        const left = 44, right = 8, top = 10, bottom = 24;
        chart.setAttribute("viewBox", "0 0 " + width + " " + height);
        const points = history.points.filter(function (p) { return finite(p.at) && finite(p.imbalance); });
        const threshold = finite(history.threshold) ? history.threshold : 0;
        let high = threshold;
        for (const p of points) high = Math.max(high, p.imbalance);
        high = high > 0 ? high * 1.15 : 1;
        // From the first sample in the window (a loop started an hour ago draws its hour).
        const start = points.length ? Math.max(history.since, points[0].at) : history.since;
        const end = Math.max(history.now, points.length ? points[points.length - 1].at : history.now);
        const span = end > start ? end - start : 1;
        function x(at) { return left + (at - start) / span * (width - left - right); }
        function y(value) { return top + (1 - value / high) * (height - top - bottom); }

        chart.appendChild(svg("line", { x1: left, y1: y(0), x2: width - right, y2: y(0), stroke: "currentColor",
          "stroke-opacity": 0.3 }));
        for (const value of [0, high / 2, high]) {
          chart.appendChild(svg("text", { x: left - 4, y: y(value) + 4, "text-anchor": "end" }, value.toFixed(2)));
        }
        chart.appendChild(svg("text", { x: left, y: height - 6 }, seconds(end - start) + " ago"));
        chart.appendChild(svg("text", { x: width - right, y: height - 6, "text-anchor": "end" }, "now"));
        chart.appendChild(svg("line", { id: "threshold-line", x1: left, y1: y(threshold), x2: width - right,
          y2: y(threshold), stroke: "#d8453b", "stroke-dasharray": "6 4", "stroke-width": 1.5 }));
        if (points.length === 0) {
          chart.appendChild(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" },
            "no host samples in this window yet"));
          return;
        }
        let path = "";
        points.forEach(function (p, i) {
          path += (i === 0 ? "M" : "L") + x(p.at).toFixed(1) + " " + y(p.imbalance).toFixed(1);
        });
        chart.appendChild(svg("path", { id: "imbalance-line", d: path, fill: "none", stroke: "#3b7dd8",
          "stroke-width": 2 }));
        const last = points[points.length - 1];
        chart.appendChild(svg("circle", { cx: x(last.at), cy: y(last.imbalance), r: 3, fill: "#3b7dd8" }));
      }

      function renderMigrations(migrations) {
        const tbody = document.getElementById("migrations");
        tbody.replaceChildren();
        for (const m of migrations) {
          const measured = m.measured || {};
          tbody.appendChild(row([time(m.startedAt), m.vm, m.kind + (m.requiresShutdown ? " (shutdown)" : ""),
            m.from + " → " + m.to, seconds(m.predicted.seconds) + " / " + seconds(measured.seconds),
            milliseconds(m.predicted.downtimeMs) + " / " + milliseconds(measured.downtimeMs), m.outcome || "in flight"]));
        }
        if (migrations.length === 0) {
          const tr = row(["No migration recorded yet."]);
          tr.firstChild.colSpan = 7;
          tbody.appendChild(tr);
        }
      }

      async function getJSON(path) {
        const response = await fetch(path, { cache: "no-store" });
        if (!response.ok && response.status !== 503) throw new Error(path + ": HTTP " + response.status);
        return response.json();
      }

      async function refresh() {
        try {
          const answers = await Promise.all([getJSON("api/status"), getJSON("api/imbalance?since=6h"),
            getJSON("api/history?limit=10")]);
          renderStatus(answers[0]);
          renderChart(answers[1]);
          renderMigrations(answers[2].migrations);
          document.getElementById("error").textContent = "";
          body.dataset.state = "ok";
        } catch (error) {
          document.getElementById("error").textContent = "Cannot read the loop's status: " + error.message;
          body.dataset.state = "error";
        } finally {
          setTimeout(refresh, 5000);
        }
      }
      refresh();
    })();
    </script>
    </body>
    </html>
    """#
}
