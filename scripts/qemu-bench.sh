#!/bin/sh
# Runs the QEMU calibration (real live migrations over a grid of dirty rates × bandwidth
# caps) and prints the pre-copy model's predictions next to QEMU's measurements.
# Needs qemu-system-x86 (qemu-system-x86_64), qemu-utils (qemu-img) and gcc-multilib.
# Grid: BALLAST_BENCH_RATES=0,8,32 BALLAST_BENCH_CAPS=16,64 (MB/s), BALLAST_BENCH_WS_MIB=16,
# BALLAST_BENCH_MEMORY_MIB=64. Takes a few minutes; `ballast bench` will run the same calibration.
set -eu
cd "$(dirname "$0")/.."
BALLAST_QEMU_BENCH=1 exec swift test --filter QEMUBenchmark "$@"
