#!/usr/bin/env bash
# End-to-end tests of `sluice dma copy` (TAP):
#   - 1 GiB of random data to a file target on a disk file system (under
#     /var/tmp, not tmpfs, so that O_DIRECT is what writes it): the copy's
#     sha256 is the source's; the note says when O_DIRECT was refused;
#   - the buffered path (--buffered), and a size that is no multiple of the
#     block size (the tail goes the buffered way);
#   - a full file system (a loop-mounted ext4 image of 8 MiB, and a tmpfs
#     of 4 MiB, made here and removed even on failure; root, else skipped):
#     exit 1, ENOSPC named with the target and the offset, and the bytes
#     before that offset are the source's; a ramfs, which refuses O_DIRECT:
#     buffered, and the note says so;
#   - the host target with --verify; errors of use (exit 2) and of run time
#     (exit 1) with messages naming what was wrong; cuda:0 without a driver.
#
#   - cuda:0 on a fake driver (FAKE_CUDA: tests/unit/dma/fake_cuda.c) with
#     --verify, and its error in the middle; without the fake, skipped.
#
#   test_dma.sh PATH/TO/sluice [SOURCE_ROOT [FAKE_CUDA]]
set -u
FAKE_CUDA=${3:-}
SLUICE=${1:?usage: test_dma.sh PATH/TO/sluice}
. "$(dirname "$0")/lib.sh"
export SLUICE_NO_STATUS=1

# big files on a disk file system, never tmpfs (T_DIR is under /tmp)
V=$(mktemp -d /var/tmp/sl-dma-t.XXXXXX)
MNT=
LOOPIMG=
dma_cleanup() {
	if [ -n "$MNT" ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
		rmdir "$MNT" 2>/dev/null
	fi
	rm -rf "$V"
	t_cleanup
}
trap dma_cleanup EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---- 1 GiB to a file ----------------------------------------------------
head -c 1G /dev/urandom >"$V/src.bin"
"$SLUICE" dma copy --from "$V/src.bin" --to "file:$V/dst.bin" --json \
	>"$V/big.json" 2>"$V/big.err"
rc=$?
if [ $rc -eq 0 ] && [ "$(sha "$V/src.bin")" = "$(sha "$V/dst.bin")" ]; then
	t_ok "1 GiB to file: same sha256 as the source"
else t_fail "1 GiB to file: same sha256 as the source" "rc=$rc $(cat "$V/big.err")"; fi
t_check "1 GiB to file: JSON says all bytes acked, rate positive" t_json "$V/big.json" \
	'j["bytes"] == 1 << 30 and j["acked_bytes"] == 1 << 30 and j["bytes_per_s"] > 0 and j["max_in_flight"] <= j["depth"] and "error" not in j'
note=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["note"])' "$V/big.json" 2>/dev/null)
if [ -z "$note" ]; then
	t_ok "1 GiB to file: written with O_DIRECT (no note)"
else
	# the file system refused O_DIRECT: the fallback must say so
	if echo "$note" | grep -q "O_DIRECT refused"; then
		t_ok "1 GiB to file: O_DIRECT refused here, buffered, and said so # $note"
	else t_fail "1 GiB to file: unexpected note" "$note"; fi
fi
rm -f "$V/dst.bin"

# --progress: a progress line on stderr, not a terminal
head -c 64M "$V/src.bin" >"$V/s64.bin"
"$SLUICE" dma copy --from "$V/s64.bin" --to "file:$V/p.bin" --progress \
	>"$V/p.out" 2>"$V/p.err"
rc=$?
if [ $rc -eq 0 ] && grep -q "64.0 / 64.0 MiB  100%" "$V/p.err" &&
	grep -q "^copy: 67108864 bytes to file:" "$V/p.out"; then
	t_ok "--progress: a line on stderr, the result on stdout"
else t_fail "--progress: a line on stderr, the result on stdout" "rc=$rc $(cat "$V/p.out" "$V/p.err")"; fi
"$SLUICE" dma copy --from "$V/s64.bin" --to "file:$V/p.bin" >/dev/null 2>"$V/np.err"
if [ ! -s "$V/np.err" ]; then t_ok "no progress line when stderr is no terminal"
else t_fail "no progress line when stderr is no terminal" "$(cat "$V/np.err")"; fi

# ---- the buffered path, an odd size ---------------------------------------
"$SLUICE" dma copy --from "$V/s64.bin" --to "file:$V/b.bin" --buffered \
	--staging-size 256K --depth 4 --json >"$V/b.json" 2>"$V/b.err"
rc=$?
if [ $rc -eq 0 ] && cmp -s "$V/s64.bin" "$V/b.bin" &&
	t_json "$V/b.json" '"buffered" in j["note"]' >/dev/null; then
	t_ok "--buffered: same bytes, the note says buffered"
else t_fail "--buffered: same bytes, the note says buffered" "rc=$rc $(cat "$V/b.err" "$V/b.json")"; fi

head -c $((10 * 1048576 + 12345)) "$V/src.bin" >"$V/odd.bin"
"$SLUICE" dma copy --from "$V/odd.bin" --to "file:$V/odd.out" --staging-size 64K \
	--depth 16 --verify >"$V/odd.txt" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(sha "$V/odd.bin")" = "$(sha "$V/odd.out")" ] &&
	grep -q "verify: the target holds the same bytes" "$V/odd.txt"; then
	t_ok "a size no multiple of 4096: same sha256, --verify agrees"
else t_fail "a size no multiple of 4096: same sha256, --verify agrees" "rc=$rc $(cat "$V/odd.txt")"; fi

# ---- host ---------------------------------------------------------------
"$SLUICE" dma copy --from "$V/odd.bin" --to host --verify --json >"$V/h.json" 2>"$V/h.err"
rc=$?
if [ $rc -eq 0 ]; then
	t_check "host: verified, all bytes acked" t_json "$V/h.json" \
		'j["verified"] and j["acked_bytes"] == j["bytes"] == 10 * 1048576 + 12345'
else t_fail "host: exit 0" "rc=$rc $(cat "$V/h.err")"; fi

# ---- a full file system ---------------------------------------------------
# full_fs KIND: copy 64 MiB to a file system of a few MiB mounted at $MNT
full_fs() {
	local kind=$1 out="$MNT/out.bin" rc acked
	"$SLUICE" dma copy --from "$V/s64.bin" --to "file:$out" --staging-size 256K \
		--depth 4 --json >"$V/full.json" 2>"$V/full.err"
	rc=$?
	if [ $rc -eq 1 ]; then t_ok "$kind full: exit 1"
	else t_fail "$kind full: exit 1" "rc=$rc $(cat "$V/full.err")"; fi
	if grep -Eq "file:$out: write at offset [0-9]+ .*No space left on device" "$V/full.err"; then
		t_ok "$kind full: the message names the target, the offset and ENOSPC"
	else t_fail "$kind full: the message names the target, the offset and ENOSPC" "$(cat "$V/full.err")"; fi
	t_check "$kind full: JSON error ENOSPC at an offset past what was acked" t_json "$V/full.json" \
		'j["error"]["name"] == "ENOSPC" and j["error"]["offset"] >= j["acked_bytes"] and 0 < j["acked_bytes"] < 64 << 20'
	acked=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["acked_bytes"])' "$V/full.json" 2>/dev/null)
	if [ -n "$acked" ] && [ "$acked" -gt 0 ] && cmp -s -n "$acked" "$V/s64.bin" "$out"; then
		t_ok "$kind full: the $acked bytes acked are the source's"
	else t_fail "$kind full: the bytes acked are the source's" "acked=$acked"; fi
}

if [ "$(id -u)" -ne 0 ]; then
	t_skip "ext4 image full" "needs root to mount a loop device"
	t_skip "tmpfs full" "needs root to mount a tmpfs"
	t_skip "O_DIRECT refused (ramfs)" "needs root to mount a ramfs"
else
	MNT=$(mktemp -d /var/tmp/sl-dma-mnt.XXXXXX)
	LOOPIMG="$V/fs.img"
	if ! command -v mkfs.ext4 >/dev/null; then
		t_skip "ext4 image full" "mkfs.ext4 not installed (e2fsprogs)"
	elif truncate -s 8M "$LOOPIMG" && mkfs.ext4 -q -F "$LOOPIMG" 2>"$V/mkfs.err" &&
		mount -o loop "$LOOPIMG" "$MNT" 2>>"$V/mkfs.err"; then
		full_fs ext4
		umount "$MNT"
	else
		t_skip "ext4 image full" "cannot loop-mount an ext4 image: $(tr '\n' ' ' <"$V/mkfs.err")"
	fi
	if mount -t tmpfs -o size=4m sl-dma-tmpfs "$MNT" 2>"$V/tmpfs.err"; then
		full_fs tmpfs
		umount "$MNT"
	else
		t_skip "tmpfs full" "cannot mount a tmpfs: $(cat "$V/tmpfs.err")"
	fi
	# ramfs has no O_DIRECT at all: the open is refused, the copy is
	# buffered and says so
	if mount -t ramfs sl-dma-ramfs "$MNT" 2>"$V/ramfs.err"; then
		"$SLUICE" dma copy --from "$V/odd.bin" --to "file:$MNT/r.bin" --json \
			>"$V/r.json" 2>"$V/r.err"
		rc=$?
		if [ $rc -eq 0 ] && cmp -s "$V/odd.bin" "$MNT/r.bin" &&
			grep -q "warning: file:$MNT/r.bin: O_DIRECT refused by ramfs" "$V/r.err" &&
			t_json "$V/r.json" 'j["note"].startswith("O_DIRECT refused by ramfs") and "buffered writes" in j["note"]' >/dev/null; then
			t_ok "O_DIRECT refused (ramfs): buffered, same bytes, the note says so"
		else t_fail "O_DIRECT refused (ramfs): buffered, same bytes, the note says so" "rc=$rc $(cat "$V/r.err" "$V/r.json")"; fi
		umount "$MNT"
	else
		t_skip "O_DIRECT refused (ramfs)" "cannot mount a ramfs: $(cat "$V/ramfs.err")"
	fi
	rmdir "$MNT"
	MNT=
fi

# ---- errors ---------------------------------------------------------------
# t_err NAME RC PATTERN ARGS...: dma copy ARGS exits RC, stderr matches
t_err() {
	local name=$1 want=$2 pat=$3 rc
	shift 3
	"$SLUICE" dma copy "$@" >/dev/null 2>"$V/err"
	rc=$?
	if [ $rc -eq "$want" ] && grep -Eq -- "$pat" "$V/err"; then t_ok "$name"
	else t_fail "$name" "rc=$rc $(cat "$V/err")"; fi
}
t_err "no --from: exit 2" 2 "--from FILE: needed" --to host
t_err "no --to: exit 2" 2 "--to TARGET: needed" --from "$V/odd.bin"
t_err "unknown target: exit 1, says what is known" 1 "nvme:0: unknown target: give host, file:PATH or cuda:N" \
	--from "$V/odd.bin" --to nvme:0
t_err "--depth 0: exit 2" 2 "--depth 0: too small" --from "$V/odd.bin" --to host --depth 0
t_err "--staging-size 5000: exit 2" 2 "--staging-size 5000: give a multiple of 4096" \
	--from "$V/odd.bin" --to host --staging-size 5000
t_err "--staging-size 1G: exit 2" 2 "--staging-size 1G: give 4096 to" \
	--from "$V/odd.bin" --to host --staging-size 1G
t_err "missing source: exit 1" 1 "--from $V/nosuch: No such file" --from "$V/nosuch" --to host
t_err "unwritable target directory: exit 1" 1 "file:$V/no/dir/x: No such file" \
	--from "$V/odd.bin" --to "file:$V/no/dir/x"
t_err "the same file: exit 2" 2 "the same file" --from "$V/odd.bin" --to "file:$V/odd.bin"
t_err "unknown option: exit 2" 2 "unknown option '--bogus'" --bogus
t_err "--buffered on host: exit 2" 2 "--buffered: only for file: targets" \
	--from "$V/odd.bin" --to host --buffered
"$SLUICE" dma nosuch >/dev/null 2>"$V/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown subcommand 'nosuch'" "$V/err"; then t_ok "unknown subcommand: exit 2"
else t_fail "unknown subcommand: exit 2" "rc=$rc $(cat "$V/err")"; fi

# ---- cuda without a GPU -----------------------------------------------------
if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
	t_skip "cuda:0 without a driver" "a CUDA driver is installed: scripts/gpu_check.sh tests cuda:N"
else
	t_err "cuda:0 without a driver: exit 1, libcuda.so.1 not found" 1 \
		"cuda:0: libcuda.so.1 not found" --from "$V/odd.bin" --to cuda:0
fi

# ---- cuda:0 on the fake driver ---------------------------------------------
if [ -z "$FAKE_CUDA" ] || [ ! -f "$FAKE_CUDA" ]; then
	t_skip "cuda:0 (fake driver): copy and --verify" "no fake driver given"
	t_skip "cuda:0 (fake driver): error in the middle" "no fake driver given"
else
	SLUICE_LIBCUDA=$FAKE_CUDA "$SLUICE" dma copy --from "$V/odd.bin" --to cuda:0 \
		--staging-size 512K --depth 4 --verify --json >"$V/c.json" 2>"$V/c.err"
	rc=$?
	if [ $rc -eq 0 ]; then
		t_check "cuda:0 (fake driver): copy and --verify" t_json "$V/c.json" \
			'j["verified"] and j["acked_bytes"] == j["bytes"] and j["note"] == "Fake GPU"'
	else t_fail "cuda:0 (fake driver): copy and --verify" "rc=$rc $(cat "$V/c.err")"; fi
	FAKE_CUDA_FAIL_AT=5000000 SLUICE_LIBCUDA=$FAKE_CUDA "$SLUICE" dma copy \
		--from "$V/odd.bin" --to cuda:0 --staging-size 1M >/dev/null 2>"$V/c2.err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "cuda:0: write at offset 4194304 (1048576 bytes): Input/output error: cuMemcpyHtoDAsync: CUDA_ERROR_ILLEGAL_ADDRESS" "$V/c2.err" &&
		grep -q "4194304 bytes before offset 4194304 are on the target" "$V/c2.err"; then
		t_ok "cuda:0 (fake driver): error in the middle names target, offset, CUDA error"
	else t_fail "cuda:0 (fake driver): error in the middle names target, offset, CUDA error" "rc=$rc $(cat "$V/c2.err")"; fi
fi

t_done
