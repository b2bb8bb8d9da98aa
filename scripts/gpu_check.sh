#!/usr/bin/env bash
# The cuda:N target on a real GPU (issue 13): what the tests cannot do on a
# machine without one. Copies random data to cuda:N through the staging
# engine for a few staging sizes and depths, reads it back through the same
# dlopen'ed driver API (cuMemcpyDtoH, `--verify`), compares, and prints the
# throughput of each run. Exit 0 when every copy verified, 1 otherwise, 2
# when this machine has no CUDA driver or device.
#
#   scripts/gpu_check.sh [BUILD_DIR [DEVICE [MIB]]]   (defaults: build 0 1024)
#
# Needs a build (meson setup build && ninja -C build) and the NVIDIA driver
# (libcuda.so.1); no CUDA toolkit.
set -u
BUILD=${1:-build}
DEV=${2:-0}
MIB=${3:-1024}
SLUICE=$BUILD/tools/sluice

if [ ! -x "$SLUICE" ]; then
	echo "gpu_check: $SLUICE not built: meson setup $BUILD && ninja -C $BUILD" >&2
	exit 2
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 ' && [ -z "${SLUICE_LIBCUDA:-}" ]; then
	echo "gpu_check: libcuda.so.1 not found: no NVIDIA driver here" >&2
	exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi -L

# on disk, not tmpfs; the source is read from the page cache after the
# first run, so the numbers are the staging path's, not the disk's
DIR=$(mktemp -d /var/tmp/sl-gpu-check.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
head -c "${MIB}M" /dev/urandom >"$DIR/src.bin"
cat "$DIR/src.bin" >/dev/null

fail=0
printf '%-10s %-6s %-10s %s\n' staging depth MB/s result
for cfg in 1M:1 1M:4 1M:8 4M:4 4M:8 16M:4; do
	sz=${cfg%:*}
	depth=${cfg#*:}
	"$SLUICE" dma copy --from "$DIR/src.bin" --to "cuda:$DEV" \
		--staging-size "$sz" --depth "$depth" --verify --json \
		>"$DIR/r.json" 2>"$DIR/r.err"
	rc=$?
	line=$(python3 - "$DIR/r.json" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception:
    print("- no result"); sys.exit(0)
ok = j.get("verified") and j["acked_bytes"] == j["bytes"]
print("%.0f %s" % (j["bytes_per_s"] / 1e6,
                   "verified" if ok else "NOT VERIFIED: %s" % j.get("error", j.get("first_difference"))))
PY
)
	printf '%-10s %-6s %s\n' "$sz" "$depth" "$line"
	if [ $rc -ne 0 ] || ! echo "$line" | grep -q " verified$"; then
		fail=1
		sed 's/^/  /' "$DIR/r.err"
	fi
done
if [ $fail -eq 0 ]; then
	echo "gpu_check: cuda:$DEV: every copy read back the same"
else
	echo "gpu_check: cuda:$DEV: FAILED"
fi
exit $fail
