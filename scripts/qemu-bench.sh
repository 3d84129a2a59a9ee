#!/bin/sh
# Calibrates the cost model on the QEMU lab: real live migrations over a grid of dirty rates ×
# bandwidth caps, each predicted before it runs and measured by QEMU, before and after the model
# learned (`ballast calibrate`; pass its options, e.g. --rates 0,8,32 --caps 16,64 --json).
# Needs qemu-system-x86 (qemu-system-x86_64), qemu-utils (qemu-img) and gcc-multilib. Takes a few
# minutes; it waits for the lock the lab tests take, so no other lab shares the machine's cores.
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product ballast
exec flock "${TMPDIR:-/tmp}/ballast-qemu-tests.lock" .build/release/ballast calibrate --cluster clusters/lab.yaml "$@"
