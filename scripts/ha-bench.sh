#!/usr/bin/env bash
# High availability figures: journal commits per second on SQLite and on a local PostgreSQL,
# and how long a standby `balance --loop` takes to take over after the leader is SIGKILLed in
# the middle of a live migration (and to have reconciled what it left in flight).
#
#   scripts/ha-bench.sh [--moves N] [--lease SECONDS]     default 200 migrations, a 6 s lease
#
# Needs Debian's postgresql (15). Starts its own PostgreSQL server (initdb in a temporary folder,
# loopback only, a free port, durable: fsync on, as installed) and stops it, and every process it
# started, by process id when it ends. As root the server runs as the postgres user.
# Uses the debug build (`swift build`); `swift build -c release` and BALLAST=.build/release/ballast
# measure the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

moves=200
lease=6
while (($#)); do
  case $1 in
    --moves) moves=$2; shift 2 ;;
    --lease) lease=$2; shift 2 ;;
    *) echo "usage: $0 [--moves N] [--lease SECONDS]" >&2; exit 2 ;;
  esac
done

bin=/usr/lib/postgresql/15/bin
[[ -x $bin/initdb ]] || { echo "PostgreSQL 15 is not installed: apt-get install postgresql" >&2; exit 1; }
if [[ -z ${BALLAST:-} ]]; then
  swift build --product ballast >/dev/null
  BALLAST=$PWD/.build/debug/ballast
fi

work=$(mktemp -d /tmp/ballast-ha-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  if [[ -n ${server:-} ]]; then
    kill -INT "$server" 2>/dev/null || true
    while kill -0 "$server" 2>/dev/null; do sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

as_postgres=()
if ((EUID == 0)); then
  chown postgres: "$work"
  as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_postgres[@]}" "$bin/initdb" -D "$work/data" -U ballast --auth=trust --encoding=UTF8 --locale=C >/dev/null
"${as_postgres[@]}" "$bin/postgres" -D "$work/data" -p "$port" -k "$work" -c listen_addresses=127.0.0.1 \
  >"$work/server.log" 2>&1 &
server=$!
psql() { "$bin/psql" -X -q -A -t -h 127.0.0.1 -p "$port" -U ballast "$@"; }
until psql -d postgres -c 'SELECT 1' >/dev/null 2>&1; do
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
url() { echo "postgresql://ballast@127.0.0.1:$port/$1?sslmode=disable"; }

echo "== journal commits per second ($moves live migrations, $((moves * 14 + 2)) commits, full durability)"
"$BALLAST" db bench --db "$work/bench.sqlite" --moves "$moves"
psql -d postgres -c 'CREATE DATABASE bench'
"$BALLAST" db bench --db "$(url bench)" --moves "$moves"

echo "== takeover after SIGKILL (lease ${lease}s, interval 1s)"
psql -d postgres -c 'CREATE DATABASE takeover'
cp clusters/demo.yaml "$work/demo.yaml"
printf 'name: fast\nholdFor: 0s\nmonitor: {interval: 1s}\n' >"$work/fast.yaml"
export BALLAST_SIMULATION_TIMINGS='{"querySeconds": 2, "reserveSeconds": 2, "commitSeconds": 2, "activateSeconds": 2,
  "registerSeconds": 2, "removeSeconds": 2, "shutdownSeconds": 2, "bootSeconds": 2}'
loop=(balance --loop --cluster "$work/demo.yaml" --policy "$work/fast.yaml" --db "$(url takeover)"
  --state "$work/state.json" --interval 1s --lease "${lease}s" --pace 4)
"$BALLAST" "${loop[@]}" >/dev/null 2>"$work/a.err" &
pids+=($!)
disown
until grep -q "leading the balancing" "$work/a.err"; do sleep 0.1; done
"$BALLAST" "${loop[@]}" >/dev/null 2>"$work/b.err" &
pids+=($!)
disown
until grep -q "standing by" "$work/b.err"; do sleep 0.1; done
in_flight="SELECT count(*) FROM stages s JOIN moves m ON m.id = s.move_id WHERE m.ended_at IS NULL
  AND s.stage = 'preCopy' AND s.intent_at IS NOT NULL AND s.ended_at IS NULL"
until [[ $(psql -d takeover -c "$in_flight") != 0 ]]; do sleep 0.05; done
leader=$(psql -d takeover -c 'SELECT pid FROM loop_leaders')
left=$(psql -d takeover -c 'SELECT string_agg(id::text, $$,$$) FROM moves WHERE started_at IS NOT NULL AND ended_at IS NULL')
kill -9 "$leader"
killed=$(date +%s.%N)
until [[ $(psql -d takeover -c 'SELECT pid FROM loop_leaders') != "$leader" ]]; do sleep 0.05; done
led=$(date +%s.%N)
until [[ $(psql -d takeover -c "SELECT count(*) FROM moves WHERE id IN ($left) AND ended_at IS NULL") == 0 ]]; do
  sleep 0.05
done
settled=$(date +%s.%N)
python3 - "$killed" "$led" "$settled" "$lease" <<'PY'
import sys
killed, led, settled, lease = map(float, sys.argv[1:])
print(f"standby leads {led - killed:.1f} s after the SIGKILL (lease {lease:.0f} s, checked every 1 s interval); "
      f"what the dead leader left in flight is reconciled {settled - killed:.1f} s after it")
PY
