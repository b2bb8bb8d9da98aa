#!/usr/bin/env bash
# Build and run every test; the last line is "N passed, N failed, N skipped".
#   1. build/       gcc, -Werror: unit, install and lint tests (and, as root,
#                   the integration tests)
#   2. build-asan/  the unit tests again under ASan + UBSan
#   3. build-tsan/  the threaded unit tests under ThreadSanitizer
#   4. build-fuzz/  clang + libFuzzer: each fuzz target for FUZZ_SECONDS on
#                   its checked-in corpus
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
results=$(mktemp /tmp/sl-results.XXXXXX)
logs=()
status=0

step() { echo; echo "==== $*"; }
record() { echo "$1 $2" >>"$results"; } # name PASS|FAIL|SKIP

setup() { # dir, meson args...
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; return 1; }
	fi
}

step "build (gcc, -Werror)"
if setup build -Dwerror=true && ninja -C build; then
	step "tests"
	meson test -C build --no-rebuild --print-errorlogs --num-processes 2 ||
		status=1
	logs+=(build/meson-logs/testlog.json)
else
	record build FAIL
	status=1
fi

step "unit tests under ASan + UBSan"
if setup build-asan -Db_sanitize=address,undefined -Db_lundef=false &&
	ninja -C build-asan; then
	meson test -C build-asan --no-rebuild --print-errorlogs --suite unit \
		--num-processes 2 || status=1
	logs+=(build-asan/meson-logs/testlog.json)
else
	record build-asan FAIL
	status=1
fi

# the tests whose threads share rings, pools, pair links and a PD: races
# fail them (TSAN_OPTIONS), and their hang bounds stretch for TSan's pace
step "threaded tests under ThreadSanitizer"
if setup build-tsan -Db_sanitize=thread -Db_lundef=false &&
	ninja -C build-tsan; then
	SL_TEST_TIME_SCALE=10 TSAN_OPTIONS=halt_on_error=1 \
		meson test -C build-tsan --no-rebuild --print-errorlogs \
		--num-processes 2 ring mem pair ring-prod mem-prod pair-prod \
		rdma-qp-prod || status=1
	logs+=(build-tsan/meson-logs/testlog.json)
else
	record build-tsan FAIL
	status=1
fi

step "fuzz smoke (${FUZZ_SECONDS}s per target)"
if CC=clang setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dtests=disabled && ninja -C build-fuzz; then
	for f in build-fuzz/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		name=$(basename "$f")
		corpus=fuzz/corpus/${name#fuzz_}
		work=$(mktemp -d /tmp/sl-fuzz.XXXXXX)
		echo "-- $name on $corpus"
		if "$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
			-rss_limit_mb=2048 -artifact_prefix="$work/" \
			-print_final_stats=0 "$work" "$corpus" \
			>"$work.log" 2>&1; then
			record "$name" PASS
			tail -n 2 "$work.log"
		else
			record "$name" FAIL
			status=1
			tail -n 40 "$work.log"
		fi
		rm -rf "$work" "$work.log"
	done
else
	record build-fuzz FAIL
	status=1
fi

echo
python3 scripts/summary.py "$results" "${logs[@]}" || status=1
rm -f "$results"
exit $status
