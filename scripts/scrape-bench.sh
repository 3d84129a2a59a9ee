#!/usr/bin/env bash
# Times scrapes of a running loop's endpoint on a generated cluster: `balance --loop --listen` on
# a simulated cluster of HOSTS hosts and VMS VMs, then COUNT requests each of /metrics,
# /api/status and /api/imbalance once a few rounds have run, timed by curl.
#
#   scripts/scrape-bench.sh [HOSTS] [VMS] [COUNT]      default 1000 20000 50
#
# Uses the release build (`swift build -c release` first; BALLAST=path picks another binary).
# Needs curl. Prints the median and 95th percentile per path, and the size of the answers.
set -euo pipefail
cd "$(dirname "$0")/.."

hosts=${1:-1000}
vms=${2:-20000}
count=${3:-50}
ballast=${BALLAST:-$(swift build -c release --show-bin-path)/ballast}
[[ -x $ballast ]] || { echo "no binary at $ballast: swift build -c release first" >&2; exit 1; }

work=$(mktemp -d)
loop=
cleanup() {
  if [[ -n $loop ]]; then kill -TERM "$loop" 2>/dev/null || true; wait "$loop" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$ballast" generate --hosts "$hosts" --vms "$vms" --seed 1 -o "$work/cluster.yaml" --json >/dev/null
printf 'name: bench\nmonitor: {interval: 10s}\n' >"$work/policy.yaml"
"$ballast" balance --loop --cluster "$work/cluster.yaml" --policy "$work/policy.yaml" --db "$work/h.sqlite" \
  --state "$work/state.json" --pace 10 --listen 127.0.0.1:0 >"$work/rounds.txt" 2>"$work/log.txt" &
loop=$!

port=
for _ in $(seq 600); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/log.txt" | head -1)
  [[ -n $port ]] && (($(wc -l <"$work/rounds.txt") >= 3)) && break
  kill -0 "$loop" 2>/dev/null || { cat "$work/log.txt" >&2; exit 1; }
  sleep 0.5
done
[[ -n $port ]] || { echo "the loop did not start listening" >&2; exit 1; }
echo "$hosts hosts, $vms VMs; $(wc -l <"$work/rounds.txt") rounds so far; http://127.0.0.1:$port"

for path in /metrics /api/status '/api/imbalance?since=6h'; do
  for _ in $(seq "$count"); do
    curl -s -o "$work/answer" -w '%{time_total}\n' "http://127.0.0.1:$port$path"
  done | sort -n >"$work/times"
  awk -v path="$path" -v size="$(wc -c <"$work/answer")" '
    { t[NR] = $1 }
    END { printf "%-24s median %6.1f ms   p95 %6.1f ms   %d bytes\n", path, t[int(NR / 2) + 1] * 1000,
          t[int(NR * 0.95)] * 1000, size }' "$work/times"
done
