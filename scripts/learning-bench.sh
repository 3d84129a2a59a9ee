#!/bin/sh
# The cost model learning on the simulated driver with a hidden truth: every running VM of
# clusters/demo.yaml migrated back and forth (12 times by default) between its host and the first
# other host that takes it, each move planned with what the earlier ones taught; then a drain of
# h1 planned with the learned model and executed. Prints `history --accuracy` (the errors by each
# VM's migration number) and the drain's predicted vs executed makespan.
#   scripts/learning-bench.sh [SEED] [MIGRATIONS]
set -eu
cd "$(dirname "$0")/.."
seed=${1:-7}
migrations=${2:-12}
swift build --product ballast >/dev/null
ballast=.build/debug/ballast
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cluster=clusters/demo.yaml
export BALLAST_SIMULATION_TRUTH="$seed"
run() { "$ballast" "$@" --cluster "$cluster" --state "$work/state.json" --db "$work/history.sqlite" --json >/dev/null 2>&1; }
# Running VMs as name:host (python3 reads status's JSON).
vms=$("$ballast" status --cluster "$cluster" --vms --json | python3 -c '
import json, sys
for vm in json.load(sys.stdin)["vms"]:
    if vm["state"] == "running": print(vm["name"] + ":" + vm["host"])')
for entry in $vms; do
  vm=${entry%%:*}
  home=${entry#*:}
  peer=""
  for host in h1 h2 h3 h4 h5; do
    [ "$host" = "$home" ] && continue
    if run migrate "$vm" --to "$host"; then peer=$host; break; fi
  done
  [ -z "$peer" ] && { echo "$vm: no other host takes it, left out"; continue; }
  i=1
  while [ "$i" -lt "$migrations" ]; do
    if [ $((i % 2)) -eq 1 ]; then run migrate "$vm" --to "$home" || true; else run migrate "$vm" --to "$peer" || true; fi
    i=$((i + 1))
  done
  # Back home, so the drain below starts from the file's placement.
  [ $((migrations % 2)) -eq 1 ] && run migrate "$vm" --to "$home" || true
done
"$ballast" history --accuracy --db "$work/history.sqlite"
predicted=$("$ballast" drain h1 --cluster "$cluster" --state "$work/state.json" --db "$work/history.sqlite" --dry-run --json \
  | sed -n 's/.*"predictedMakespanSeconds" *: *\([0-9.]*\).*/\1/p' | head -1)
executed=$("$ballast" drain h1 --cluster "$cluster" --state "$work/state.json" --db "$work/history.sqlite" --json \
  | sed -n 's/.*"makespanSeconds":\([0-9.]*\).*/\1/p' | tail -1)
echo ""
echo "Drain of h1 with the learned model: predicted makespan ${predicted}s, executed ${executed}s"
