#!/usr/bin/env bash
# Receive benchmark on the veth test bed (part of `make bench`, as root): the
# kernel socket, packet and xdp ports, an XDP-drop ceiling and DPDK's
# testpmd (AF_XDP and AF_PACKET PMDs) receiving the same 64-byte UDP frames
# from the in-kernel live-frames generator, one table; see bench/rx_bench.c.
#   scripts/bench_rx.sh [--quick] [--json FILE] [--only KEY,...] [...]
# Arguments go to rx_bench (--help lists them). Builds a release tree in
# RXB_DIR (build-bench, as scripts/bench.sh) without the tests. Without root rx_bench says
# what it skipped and exits 0; it never fails on its numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${RXB_DIR:-build-bench} # shared with scripts/bench.sh

if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" --buildtype=release -Dtests=disabled \
		>"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
fi
ninja -C "$dir" bench/rx_bench >"$dir.build.log" 2>&1 ||
	{ cat "$dir.build.log"; exit 1; }
command -v dpdk-testpmd >/dev/null ||
	echo "bench_rx.sh: dpdk-testpmd missing: its rows are skipped" \
		"(scripts/deps.sh bench installs it)"
# a debug pool (SLUICE_DEBUG=1) bypasses the per-thread caches
unset SLUICE_DEBUG
exec "$dir/bench/rx_bench" "$@"
