#!/usr/bin/env bash
# End-to-end tests of `sluice rdma` over UDP loopback ports (no privileges
# needed): a server and each test as two processes, bandwidth positive,
# latency percentiles in order, every message received by a send-bw server,
# a client without a server ending in a timeout message (exit 1), errors of
# use (exit 2). Prints TAP.
#
#   test_rdma.sh PATH/TO/sluice [SOURCE_ROOT]
set -u
SLUICE=${1:?usage: test_rdma.sh PATH/TO/sluice}
. "$(dirname "$0")/lib.sh"
export SLUICE_NO_STATUS=1

# ports of our own, so parallel runs do not meet; the server's side channel
# is TCP on the same port number
P=$((20000 + ($$ * 11) % 30000))
C=$((P + 1))
D=$T_DIR

# t_server: start a server for one client on udp:127.0.0.1:$P, wait until
# its side channel listens; sets SRV
t_server() {
	t_bg "$D/srv.json" "$SLUICE" rdma server "udp:127.0.0.1:$P" --size 1048576 --json "$@"
	SRV=$T_LAST
	local i
	for i in $(seq 50); do
		ss -Hltn "sport = :$P" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# ---- write-bw -----------------------------------------------------------
t_server
"$SLUICE" rdma write-bw "udp:127.0.0.1:$C" --to "127.0.0.1:$P" --size 16384 \
	--iters 300 --json >"$D/wbw.json" 2>"$D/wbw.err"
rc=$?
t_wait $SRV 10
src=$?
if [ $rc -eq 0 ] && [ $src -eq 0 ]; then t_ok "write-bw: client and server exit 0"
else t_fail "write-bw: client and server exit 0" "rc=$rc server=$src $(cat "$D/wbw.err" "$D/srv.json.err")"; fi
t_check "write-bw: 300 x 16384 B, positive bytes/s and msgs/s" t_json "$D/wbw.json" \
	'j["test"] == "write-bw" and j["iters"] == 300 and j["bytes"] == 300 * 16384 and j["bytes_per_s"] > 0 and j["msgs_per_s"] > 0 and j["qp"]["rx_bad_icrc"] == 0'
t_check "write-bw: the server saw the client's done" t_json "$D/srv.json" \
	'j["done"] and j["test"] == "write-bw"'

# the text form names the rate
t_server
"$SLUICE" rdma write-bw "udp:127.0.0.1:$C" --to "127.0.0.1:$P" --size 4096 \
	--iters 100 >"$D/wbw.txt" 2>&1
rc=$?
t_wait $SRV 10
if [ $rc -eq 0 ] && grep -Eq '^write-bw: 100 x 4096 B in [0-9.]+ s: [1-9][0-9]* bytes/s' "$D/wbw.txt"; then
	t_ok "write-bw: text line with bytes/s"
else t_fail "write-bw: text line with bytes/s" "rc=$rc $(cat "$D/wbw.txt")"; fi

# ---- write-lat ----------------------------------------------------------
t_server
"$SLUICE" rdma write-lat "udp:127.0.0.1:$C" --to "127.0.0.1:$P" --iters 500 \
	--json >"$D/wlat.json" 2>"$D/wlat.err"
rc=$?
t_wait $SRV 10
t_check "write-lat: exit 0, 500 samples, min <= p50 <= p90 <= p99 <= p99.9 <= max" \
	t_json "$D/wlat.json" \
	'j["size"] == 8 and j["latency_us"]["samples"] == 500 and 0 < j["latency_us"]["min"] <= j["latency_us"]["p50"] <= j["latency_us"]["p90"] <= j["latency_us"]["p99"] <= j["latency_us"]["p99.9"] <= j["latency_us"]["max"]'
[ $rc -eq 0 ] || t_fail "write-lat exit status" "rc=$rc $(cat "$D/wlat.err")"

# ---- read-bw, send-bw, read-lat -----------------------------------------
t_server
"$SLUICE" rdma read-bw "udp:127.0.0.1:$C" --to "127.0.0.1:$P" --size 20000 \
	--iters 200 --json >"$D/rbw.json" 2>"$D/rbw.err"
rc=$?
t_wait $SRV 10
t_check "read-bw: 200 x 20000 B complete" t_json "$D/rbw.json" \
	'j["test"] == "read-bw" and j["bytes"] == 200 * 20000 and j["bytes_per_s"] > 0'

t_server
"$SLUICE" rdma send-bw "udp:127.0.0.1:$C" --to "127.0.0.1:$P" --size 3000 \
	--iters 400 --json >"$D/sbw.json" 2>"$D/sbw.err"
rc=$?
t_wait $SRV 10
t_check "send-bw: 400 x 3000 B complete" t_json "$D/sbw.json" \
	'j["test"] == "send-bw" and j["bytes"] == 400 * 3000 and j["bytes_per_s"] > 0'
t_check "send-bw: the server received every message" t_json "$D/srv.json" \
	'j["recvs"] == 400 and j["recv_bytes"] == 400 * 3000 and j["recv_errors"] == 0'

t_server
"$SLUICE" rdma read-lat "udp:127.0.0.1:$C" --to "127.0.0.1:$P" --iters 200 \
	--json >"$D/rlat.json" 2>"$D/rlat.err"
t_wait $SRV 10
t_check "read-lat: 200 samples in order" t_json "$D/rlat.json" \
	'j["latency_us"]["samples"] == 200 and j["latency_us"]["p50"] <= j["latency_us"]["p99"] <= j["latency_us"]["max"]'

# ---- failures -----------------------------------------------------------
# nobody listens on P now: the client tries for --timeout, then says so
start=$(date +%s)
"$SLUICE" rdma write-bw "udp:127.0.0.1:$C" --to "127.0.0.1:$P" --timeout 1 \
	>/dev/null 2>"$D/e1"
rc=$?
took=$(($(date +%s) - start))
if [ $rc -eq 1 ] && [ $took -le 5 ] &&
	grep -q "sluice: rdma: no answer from a server at 127.0.0.1:$P within the timeout" "$D/e1"; then
	t_ok "no server: exit 1 after the timeout, says so"
else t_fail "no server: exit 1 after the timeout, says so" "rc=$rc took=${took}s $(cat "$D/e1")"; fi

# a message larger than the server's buffer is refused with the reason
t_server
"$SLUICE" rdma write-bw "udp:127.0.0.1:$C" --to "127.0.0.1:$P" --size 2000000 \
	--iters 1 >/dev/null 2>"$D/e2"
rc=$?
t_wait $SRV 10
if [ $rc -eq 1 ] && grep -q "the server refused: messages of 2000000 bytes; the buffer has 1048576" "$D/e2"; then
	t_ok "message over the server's buffer: exit 1, says why"
else t_fail "message over the server's buffer: exit 1, says why" "rc=$rc $(cat "$D/e2")"; fi

"$SLUICE" rdma write-bw "udp:127.0.0.1:$C" --to "127.0.0.1:$P" --bogus >/dev/null 2>"$D/e3"
rc=$?
if [ $rc -eq 2 ] && grep -q "sluice: rdma: unknown option '--bogus'" "$D/e3"; then
	t_ok "bad option: exit 2, names it"
else t_fail "bad option: exit 2, names it" "rc=$rc $(cat "$D/e3")"; fi

"$SLUICE" rdma write-lat "udp:127.0.0.1:$C" >/dev/null 2>"$D/e4"
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--to ADDR\[:PORT\] is required" "$D/e4"; then
	t_ok "missing --to: exit 2"
else t_fail "missing --to: exit 2" "rc=$rc $(cat "$D/e4")"; fi

"$SLUICE" rdma fly "udp:127.0.0.1:$C" >/dev/null 2>"$D/e5"
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown test 'fly'" "$D/e5"; then
	t_ok "unknown test: exit 2"
else t_fail "unknown test: exit 2" "rc=$rc $(cat "$D/e5")"; fi

"$SLUICE" rdma write-bw "udp:127.0.0.1:$C" --to "127.0.0.1:$P" --mtu 1000 >/dev/null 2>"$D/e6"
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--mtu 1000: one of 256, 512, 1024, 2048, 4096" "$D/e6"; then
	t_ok "bad --mtu: exit 2"
else t_fail "bad --mtu: exit 2" "rc=$rc $(cat "$D/e6")"; fi

echo "1..$T_N"
[ $T_FAIL -eq 0 ]
