#!/usr/bin/env bash
# Live telemetry end to end (include/sluice/telemetry.h, docs/telemetry.md)
# over UDP loopback ports: a running sink answers its socket with counters
# that match its final result, malformed queries get errors and the sink
# lives on, clients that stall do not stall its data path, `sluice stats
# --prometheus` (on stdout and over HTTP) passes a checker of the text
# exposition format (and promtool where installed), and `sluice top` run
# in tmux shows the sink's rate. As root the sockets are the default ones
# in /run/sluice, found by discovery, and a stale one is removed; without
# root they are files in the test's directory, named. Prints TAP.
#
#   test_telemetry.sh PATH/TO/sluice [SOURCE_ROOT]
set -u
SLUICE=${1:?usage: test_telemetry.sh PATH/TO/sluice}
. "$(dirname "$0")/lib.sh"
export SLUICE_NO_STATUS=1
CHECK="python3 $(dirname "$0")/tm_check.py"
P=$((20000 + ($$ * 13) % 30000))
D=$T_DIR
ROOT_=0
[ "$(id -u)" -eq 0 ] && ROOT_=1

# sink_bg NAME PORT ARGS...: a sink serving telemetry; sets SINK (pid) and
# SOCK (its socket)
sink_bg() {
	local name=$1 port=$2 i
	shift 2
	if [ $ROOT_ = 1 ]; then
		SLUICE_TELEMETRY=1 t_bg "$D/$name.json" "$SLUICE" sink \
			"udp:127.0.0.1:$port" --json "$@"
		SOCK=/run/sluice/$T_LAST.sock
	else
		SLUICE_TELEMETRY=$D/$name.sock t_bg "$D/$name.json" "$SLUICE" \
			sink "udp:127.0.0.1:$port" --json "$@"
		SOCK=$D/$name.sock
	fi
	SINK=$T_LAST
	t_udp_ready "$port"
	for i in $(seq 50); do
		[ -S "$SOCK" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- counters match the result; malformed queries ----------------------
sink_bg s1 $P --no-auto-stop --duration 4
$CHECK raw "$SOCK" >"$D/raw.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && kill -0 $SINK 2>/dev/null; then
	t_ok "malformed queries: each answered with an error, sink lives: $(cat "$D/raw.out")"
else t_fail "malformed queries: each answered with an error, sink lives" "$(cat "$D/raw.out")"; fi

"$SLUICE" gen udp:127.0.0.1:0 --to "127.0.0.1:$P" --count 20000 --rate 20000 \
	>/dev/null 2>&1
sleep 0.5
"$SLUICE" stats "$SOCK" --json >"$D/live.json" 2>"$D/live.err"
"$SLUICE" stats "$SOCK" >"$D/live.txt" 2>&1
"$SLUICE" stats "$SOCK" --prometheus >"$D/m.prom" 2>&1
t_wait $SINK 10
t_check "sink: 20000 frames, no loss" t_json "$D/s1.json" \
	'j["rx_packets"] == 20000 and j["lost"] == 0'
R=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rx_packets"])' "$D/s1.json" 2>/dev/null)
t_check "stats --json of the running sink matches its final result" \
	t_json "$D/live.json" \
	"j['pid'] == $SINK and len(j['ports']) == 1 and j['ports'][0]['rx_packets'] == ${R:-0} and sum(q['rx_packets'] for q in j['ports'][0]['queues']) == ${R:-0} and j['ports'][0]['spec'] == 'udp:127.0.0.1:$P' and 'udp_kernel_drops' in j['ports'][0]['xstats'] and j['pools'][0]['capacity'] > 0"
if grep -q "^port 0 udp:127.0.0.1:$P (udp socket" "$D/live.txt" &&
	grep -q "^  rx ${R:-x} packets" "$D/live.txt"; then
	t_ok "stats as text names the port and its count"
else t_fail "stats as text names the port and its count" "$(cat "$D/live.txt")"; fi

# ---- Prometheus ---------------------------------------------------------
t_check "stats --prometheus: the exposition format, the sink's counters" \
	$CHECK prom "$D/m.prom" \
	"sluice_up{pid=\"$SINK\"}=1" \
	"sluice_port_rx_packets_total{pid=\"$SINK\",port=\"0\",queue=\"0\"}=${R:-0}" \
	"sluice_port_xstat{pid=\"$SINK\",name=\"udp_kernel_drops\"}=0" \
	"sluice_pool_capacity_buffers{pid=\"$SINK\"}=+"
if command -v promtool >/dev/null; then
	t_check "promtool check metrics accepts it" sh -c "promtool check metrics <'$D/m.prom'"
else
	t_skip "promtool check metrics accepts it" "promtool not installed (tm_check.py checks the grammar)"
fi

# --listen: a scrape endpoint, a fresh snapshot per request
sink_bg s2 $((P + 1)) --duration 6
HP=$((P + 2))
t_bg "$D/listen.out" "$SLUICE" stats "$SOCK" --prometheus --listen "127.0.0.1:$HP"
LISTEN=$T_LAST
for i in $(seq 50); do
	ss -Hltn "sport = :$HP" | grep -q . && break
	sleep 0.1
done
$CHECK http "127.0.0.1:$HP" /metrics >"$D/h.txt" 2>&1
sed 1,2d "$D/h.txt" >"$D/h.prom"
if [ "$(sed -n 1p "$D/h.txt")" = 200 ] &&
	sed -n 2p "$D/h.txt" | grep -q '^text/plain; version=0.0.4' &&
	$CHECK prom "$D/h.prom" "sluice_up{pid=\"$SINK\"}=1" >"$D/h.chk" 2>&1; then
	t_ok "--listen: GET /metrics is 200, text/plain version 0.0.4, the format"
else t_fail "--listen: GET /metrics is 200, text/plain version 0.0.4, the format" "$(cat "$D/h.txt" "$D/h.chk" 2>/dev/null | head -20)"; fi
$CHECK http "127.0.0.1:$HP" /nope >"$D/h404.txt" 2>&1
if [ "$(sed -n 1p "$D/h404.txt")" = 404 ]; then t_ok "--listen: another path is 404"
else t_fail "--listen: another path is 404" "$(cat "$D/h404.txt")"; fi
kill -INT $LISTEN
t_wait $LISTEN 5
t_wait $SINK 10

# ---- stalled clients do not stall the data path -------------------------
sink_bg s3 $((P + 3)) --duration 9
"$SLUICE" gen udp:127.0.0.1:0 --to "127.0.0.1:$((P + 3))" --count 50000 \
	--rate 10000 >/dev/null 2>&1 &
GEN=$!
$CHECK stall "$SOCK" >"$D/stall.out" 2>&1
rc=$?
wait $GEN
t_wait $SINK 15
if [ $rc -eq 0 ]; then
	t_ok "stalled clients: refused past eight, flooder and idle ones dropped: $(cat "$D/stall.out")"
else t_fail "stalled clients: refused past eight, flooder and idle ones dropped" "$(cat "$D/stall.out")"; fi
t_check "while clients stalled, the sink lost nothing of 50000" \
	t_json "$D/s3.json" 'j["rx_packets"] == 50000 and j["lost"] == 0'

# ---- sluice top in tmux -------------------------------------------------
if ! command -v tmux >/dev/null; then
	t_skip "sluice top in tmux shows the sink's rate" "no tmux (scripts/deps.sh installs it)"
else
	sink_bg s4 $((P + 4)) --duration 8
	"$SLUICE" gen udp:127.0.0.1:0 --to "127.0.0.1:$((P + 4))" \
		--count 30000 --rate 5000 >/dev/null 2>&1 &
	GEN=$!
	TS=sl-tm-$$
	if [ $ROOT_ = 1 ]; then NAMED=; else NAMED=$SOCK; fi
	tmux new-session -d -s "$TS" -x 200 -y 50 \
		"$SLUICE top --interval 0.5 $NAMED; sleep 30"
	sleep 2.5
	tmux capture-pane -p -t "$TS" >"$D/top.txt" 2>&1
	tmux kill-session -t "$TS" 2>/dev/null
	# PID COMM PORT Q SPEC RXpps ...: about 5.0k
	if awk -v p=$SINK '$1 == p && $3 == 0 && $4 == "*" { print $6 }' "$D/top.txt" |
		grep -Eq '^[3-7]\.[0-9]k$' &&
		awk -v p=$SINK '$1 == p && $3 == "udp"' "$D/top.txt" | grep -q .; then
		t_ok "sluice top in tmux shows the sink's rate (~5k pps) and its pool"
	else t_fail "sluice top in tmux shows the sink's rate (~5k pps) and its pool" "$(cat "$D/top.txt")"; fi
	wait $GEN
	t_wait $SINK 15
fi

# ---- stale sockets ------------------------------------------------------
if [ $ROOT_ = 1 ]; then
	true &
	DEAD=$!
	wait $DEAD
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1])' \
		"/run/sluice/$DEAD.sock"
	"$SLUICE" top --iterations 1 >/dev/null 2>&1
	if [ ! -e "/run/sluice/$DEAD.sock" ] && [ ! -e "/run/sluice/$SINK.sock" ]; then
		t_ok "top removes the sockets of processes that are gone"
	else t_fail "top removes the sockets of processes that are gone" "$(ls -l /run/sluice)"; fi
else
	t_skip "top removes the sockets of processes that are gone" "needs root (/run/sluice)"
fi

t_done
