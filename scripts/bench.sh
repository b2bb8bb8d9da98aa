#!/usr/bin/env bash
# Core benchmarks, sluice next to DPDK, in one table (`make bench`).
#   - builds build-bench/ (release: -O3; both programs get the same flags,
#     see bench/meson.build), without the tests;
#   - runs bench_sluice and bench_dpdk (when DPDK is installed) ROUNDS times,
#     alternating, so that a slow spell of the machine hits both; each run
#     repeats each row BENCH_REPS times for BENCH_SECONDS;
#   - prints, per row, the best rate seen in any run (noise only ever slows
#     a run down), and sluice/DPDK. Within a run, one-thread rows count
#     their median slice of 1024 iterations and two-thread rows their
#     median 50 us window among those where the consumer ran, so that
#     another process taking a CPU for a while does
#     not decide the result (bench/bench.h says why).
# Environment: ROUNDS (3), BENCH_REPS (3), BENCH_SECONDS (0.3), BENCH_ONLY
# (comma-separated row keys), BENCH_DIR (build-bench).
# Benchmarks report numbers; they never fail on them.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-build-bench}
rounds=${ROUNDS:-3}
export BENCH_REPS=${BENCH_REPS:-3} BENCH_SECONDS=${BENCH_SECONDS:-0.3}
# a debug pool (SLUICE_DEBUG=1) bypasses the per-thread caches
unset SLUICE_DEBUG

if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" --buildtype=release -Dtests=disabled \
		>"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
fi
targets=(bench/bench_sluice)
if ninja -C "$dir" -t targets all 2>/dev/null | grep -q '^bench/bench_dpdk:'; then
	targets+=(bench/bench_dpdk)
fi
ninja -C "$dir" "${targets[@]}" >"$dir/bench-build.log" 2>&1 ||
	{ cat "$dir/bench-build.log"; exit 1; }

out=$(mktemp /tmp/sl-bench.XXXXXX)
trap 'rm -f "$out"' EXIT
have_dpdk=0
[ -x "$dir/bench/bench_dpdk" ] && have_dpdk=1
for ((i = 0; i < rounds; i++)); do
	"$dir/bench/bench_sluice" | sed 's/^row/sluice/' >>"$out"
	if [ $have_dpdk = 1 ]; then
		# EAL's own chatter goes to stderr; rows are the only stdout
		"$dir/bench/bench_dpdk" 2>"$dir/bench-dpdk.log" |
			sed 's/^row/dpdk/' >>"$out" ||
			{ echo "bench_dpdk failed:"; cat "$dir/bench-dpdk.log"; have_dpdk=0; }
	fi
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "sluice benchmarks  $(date '+%Y-%m-%d %H:%M')  Linux $(uname -r)  $cpu ($(nproc) CPUs)"
echo "M/s = millions of items (packets) per second; burst 32; ring size 1024; best of ${rounds}x${BENCH_REPS} runs of ${BENCH_SECONDS}s"
echo "(a run: 1 thread = median of its 1024-iteration slices, 2 threads = median of its 50 us windows where the consumer ran)"
[ $have_dpdk = 1 ] || echo "DPDK not measured (install libdpdk-dev: scripts/deps.sh bench)"
python3 - "$out" <<'EOF'
import sys

rows = [
    ("ring_sp_1t", "ring SP/SC enq+deq burst, 1 thread"),
    ("ring_mp_1t", "ring MP/MC enq+deq burst, 1 thread"),
    ("ring_sp_2t", "ring SP/SC producer -> consumer, 2 threads"),
    ("ring_mp_2t", "ring MP/MC producer -> consumer, 2 threads"),
    ("pool_bulk", "pool get+put bulk (DPDK: mempool, cache 256)"),
    ("pair_rt", "pair port tx+rx (DPDK: ring PMD ports)"),
]
best, notes = {}, {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 3:
        continue
    side, key, rate = f[0], f[1], float(f[2])
    note = f[3] if len(f) > 3 else ""
    best[(side, key)] = max(best.get((side, key), 0.0), rate)
    if note:
        notes[(side, key)] = note

def cell(side, key):
    r = best.get((side, key))
    return "-" if not r else "%.1f" % (r / 1e6)

w = max(len(t) for _, t in rows)
print("%-*s %10s %10s %7s" % (w, "row", "sluice M/s", "DPDK M/s", "ratio"))
for key, title in rows:
    s, d = best.get(("sluice", key)), best.get(("dpdk", key))
    if ("sluice", key) not in best and ("dpdk", key) not in best:
        continue
    ratio = "%.2f" % (s / d) if s and d else "-"
    print("%-*s %10s %10s %7s" % (w, title, cell("sluice", key),
                                  cell("dpdk", key), ratio))
for (side, key), note in sorted(notes.items()):
    print("note: %s %s: %s" % (side, key, note))
EOF
