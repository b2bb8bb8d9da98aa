#!/usr/bin/env bash
# End-to-end tests of the `sluice` command across the veth test bed (root):
# gen in namespace A, sink in namespace B, with zero loss at a modest rate,
# over udp: ports, packet: and xdp: ports (skipped with the reason while
# those drivers are not built), and the xdp-live engine; ping/echo across
# the link. The sinks drop their privileges after setup and keep receiving:
# the xdp sink with no capability left under the seccomp filter, the
# packet sink as nobody; with --keep-privileges the capabilities stay. The
# bed is named sl-tt<PID> and removed on exit, even on
# failure; only that bed is ever removed. Prints TAP.
#
#   tools_bed.sh PATH/TO/sluice SOURCE_ROOT
set -u
SLUICE=${1:?usage: tools_bed.sh PATH/TO/sluice SOURCE_ROOT}
ROOT=${2:?usage: tools_bed.sh PATH/TO/sluice SOURCE_ROOT}
. "$(dirname "$0")/lib.sh"
export SLUICE_NO_STATUS=1
D=$T_DIR
N=8

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
	for i in $(seq $N); do t_skip "test bed $i" "needs root and iproute2 (network namespaces, veth)"; done
	t_done
	exit 0
fi

BED=sl-tt$$
BED=${BED:0:13}
bed_down() { "$ROOT/scripts/testbed.sh" down "$BED" >/dev/null 2>&1 || true; }
trap 'bed_down; t_cleanup' EXIT
trap 'exit 1' INT TERM
if ! "$ROOT/scripts/testbed.sh" up "$BED" --json >"$D/bed.json" 2>"$D/bed.err"; then
	for i in $(seq $N); do t_skip "test bed $i" "test bed did not come up: $(head -1 "$D/bed.err")"; done
	t_done
	exit 0
fi
read -r NSA NSB IPA IPB < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["a"]["netns"], j["b"]["netns"], j["a"]["ipv4"], j["b"]["ipv4"])' "$D/bed.json")
A() { ip netns exec "$NSA" "$@"; }
B() { ip netns exec "$NSB" "$@"; }
P=9000

# gen_sink NAME GEN_PORT SINK_PORT [GEN_ARGS...]: 2000 frames A -> B at
# 20 kpps, sink's result in $D/NAME.json and its /proc status once set up
# (ports open, privileges dropped) in $D/NAME.status; SINK_ARGS are added
# to the sink's arguments; returns 3 when a driver is absent
SINK_ARGS=
gen_sink() {
	local name=$1 gport=$2 sport=$3
	shift 3
	# ip netns exec execs the sink: $T_LAST is the sink's own pid
	t_bg "$D/$name.json" ip netns exec "$NSB" "$SLUICE" sink "$sport" \
		--json --idle 2 --duration 20 $SINK_ARGS
	local sink=$T_LAST
	case $sport in
	udp:*) t_udp_ready $P "$NSB" ;;
	# the drop comes last, right before the loop: the sink is ready
	*) t_wait_dropped $sink 10 ;;
	esac
	cp "/proc/$sink/status" "$D/$name.status" 2>/dev/null
	if ! kill -0 $sink 2>/dev/null; then
		wait $sink
		grep -q "unknown driver" "$D/$name.json.err" && return 3
		return 1
	fi
	A "$SLUICE" gen "$gport" --to "$IPB:$P" --count 2000 --rate 20000 \
		--size 128 "$@" >"$D/$name.gen" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] && grep -q "unknown driver" "$D/$name.gen"; then
		kill $sink; wait $sink; return 3
	fi
	t_wait $sink 20
	return $rc
}

# 1: udp sockets across the link
gen_sink udp "udp:$IPA:0" "udp:$IPB:$P"
t_check "bed: gen (ns A) -> sink (ns B) over udp: ports, no loss" t_json "$D/udp.json" \
	'j["gen_packets"] == 2000 and j["lost"] == 0 and j["duplicates"] == 0 and j["latency_us"]["p50"] > 0'

# status FILE FIELD: a field of a saved /proc/PID/status
status() { awk -v f="$2:" '$1 == f { print $2; exit }' "$1" 2>/dev/null; }

# 2, 3: the bypass drivers, when built; the packet sink becomes nobody
for drv in packet xdp; do
	case $drv in
	packet) gp="packet:$NSA" sp="packet:$NSB" SINK_ARGS="--user nobody" ;;
	# the xdp driver wants to be told what to take from the kernel
	xdp) gp="xdp:$NSA,match=udp:$P" sp="xdp:$NSB,match=udp:$P" SINK_ARGS= ;;
	esac
	gen_sink $drv "$gp" "$sp"
	rc=$?
	SINK_ARGS=
	st="CapEff=$(status "$D/$drv.status" CapEff) Seccomp=$(status "$D/$drv.status" Seccomp) Uid=$(status "$D/$drv.status" Uid)"
	case $drv in
	packet) want="CapEff=0000000000000000 Seccomp=$T_SECCOMP Uid=65534"
		name="bed: gen packet: -> sink packet: --user nobody, no loss; sink ran as nobody, no capabilities, filtered" ;;
	xdp) want="CapEff=0000000000000000 Seccomp=$T_SECCOMP Uid=0"
		name="bed: gen xdp: -> sink xdp:, no loss; sink ran with no capabilities, filtered" ;;
	esac
	if [ $rc -eq 3 ]; then
		t_skip "$name" "the $drv driver is not built yet"
	elif [ "$st" != "$want" ]; then
		t_fail "$name" "sink after setup: $st (want $want); $(cat "$D/$drv.json.err")"
	else
		# the steering program's counters are read through bpf() on
		# the open map, which the filter allows
		t_check "$name" t_json "$D/$drv.json" \
			'j["gen_packets"] == 2000 and j["lost"] == 0 and j["duplicates"] == 0 and (j["port"]["driver"] != "xdp" or j["port"]["xstats"]["steer_matched"] >= 2000)'
	fi
done

# 4: --keep-privileges: the xdp sink keeps its capabilities, no filter
t_bg "$D/keep.json" ip netns exec "$NSB" "$SLUICE" sink "xdp:$NSB,match=udp:$P" \
	--json --duration 20 --keep-privileges
keep=$T_LAST
for i in $(seq 100); do
	# ready once its XDP program is attached
	B ip -d link show "$NSB" 2>/dev/null | grep -q "prog/xdp" && break
	kill -0 $keep 2>/dev/null || break
	sleep 0.05
done
sleep 0.1
e=$(t_status $keep CapEff) s=$(t_status $keep Seccomp)
kill -TERM $keep
t_wait $keep 5
rc=$?
if grep -q "unknown driver" "$D/keep.json.err"; then
	t_skip "bed: sink xdp: --keep-privileges keeps its capabilities, no filter" "the xdp driver is not built yet"
elif [ -n "$e" ] && [ "$e" != 0000000000000000 ] && [ "$s" = 0 ] && [ $rc -eq 0 ]; then
	t_ok "bed: sink xdp: --keep-privileges keeps its capabilities, no filter"
else
	t_fail "bed: sink xdp: --keep-privileges keeps its capabilities, no filter" \
		"CapEff=$e Seccomp=$s rc=$rc $(cat "$D/keep.json.err")"
fi

# 5: in-kernel generator; the veth peer needs NAPI for live frames, which
# GRO on the receiving end gives
B ethtool -K "$NSB" gro on >/dev/null 2>&1 || B ip link set "$NSB" gro on 2>/dev/null
t_bg "$D/live.json" B "$SLUICE" sink "udp:$IPB:$P" --json --idle 2 --duration 20
sink=$T_LAST
t_udp_ready $P "$NSB"
A "$SLUICE" gen "xdp:$NSA" --engine xdp-live --to "$IPB:$P" --count 2000 \
	--rate 20000 --size 128 --json >"$D/live.gen" 2>&1
rc=$?
t_wait $sink 20
if [ $rc -ne 0 ] && grep -qE "EOPNOTSUPP|not supported|Operation not supported" "$D/live.gen"; then
	t_skip "bed: xdp-live gen -> sink" "kernel without XDP live frames: $(head -1 "$D/live.gen")"
else
	# exactly the count asked for, each sequence number once: gen runs
	# on no CPU in particular and may be moved mid-run
	t_check "bed: xdp-live gen -> sink: sequence counted, no timestamps said" t_json "$D/live.json" \
		'j["gen_packets"] == 2000 and j["lost"] == 0 and j["duplicates"] == 0 and j["latency_us"] is None and "xdp-live" in j["latency_note"]'
fi

# 6: ping/echo across the link
t_bg "$D/echo.json" B "$SLUICE" echo "udp:$IPB:7000" --json --duration 20
echo_pid=$T_LAST
t_udp_ready 7000 "$NSB"
A "$SLUICE" ping "udp:$IPA:0" --to "$IPB:7000" --count 100 --interval 500 --json \
	>"$D/ping.json" 2>&1
kill -INT $echo_pid
t_wait $echo_pid 5
t_check "bed: ping (A) against echo (B): answered, percentiles ordered" t_json "$D/ping.json" \
	'j["received"] == 100 and (lambda r: 0 < r["p50"] <= r["p90"] <= r["p99"] <= r["p99.9"] <= r["max"])(j["rtt_us"])'

# 7: capture in B of what A's gen sends, through the kernel path
t_bg "$D/cap.out" B "$SLUICE" capture "udp:$IPB:$P" -w "$D/bed.pcap" --count 50 --duration 20
cap=$T_LAST
t_udp_ready $P "$NSB"
A "$SLUICE" gen "udp:$IPA:0" --to "$IPB:$P" --count 50 >/dev/null 2>&1
t_wait $cap 20
if command -v tshark >/dev/null; then
	n=$(tshark -r "$D/bed.pcap" -Y "ip.src == $IPA" -T fields -e frame.number 2>/dev/null | wc -l)
	if [ "$n" -eq 50 ]; then t_ok "bed: capture in B shows A's 50 frames"
	else t_fail "bed: capture in B shows A's 50 frames" "got $n"; fi
else
	t_skip "bed: capture in B shows A's 50 frames" "tshark not installed"
fi

# 8: the bed is gone after down (and only ours was touched)
bed_down
if [ -e "/var/run/netns/$NSA" ] || [ -e "/var/run/netns/$NSB" ]; then
	t_fail "bed: removed at the end"
else t_ok "bed: removed at the end"; fi

t_done
