#!/usr/bin/env bash
# Investigation aid, not a test (not in meson): the lab-zc forwarding check
# (tests/lab/test_lab_zc.sh, check 3) many times in ONE boot of the lab
# guest, to catch the rare round where `sluice fwd` on virtio-net
# zero-copy answers nothing. Per round: a fresh fwd exactly as check 3
# runs it, the host's neighbour entry flushed (as in the test, the first
# datagram resolves the guest's MAC), a tcpdump on the tap, the
# kernel-socket client with a small count. A round with no answer at all
# has the guest's and the host's state captured while fwd still runs.
#
#   [SINK=1] [PIN=MASK] [ROUNDS=N] [GEN_COUNT=N] zc_fwd_loop.sh PATH/TO/sluice SOURCE_ROOT OUTDIR MINUTES
#
# SINK=1: each round first runs the test's check 1 in small (a sink on
# both queues fed 200 frames by `sluice gen`, stopped 2 s later), then
# fwd right after it, as the test does (GEN_COUNT frames, default 200;
# the test sends 2000). ROUNDS=N: at most N rounds in this boot (the
# first fwd after a boot is the test's case: boot again for each).
#
# OUTDIR/summary.tsv: one line a round; OUTDIR/rN/: that round's files
# (the pcap kept only for failed rounds). As root; the namespace, tap
# and guest go on exit.
set -u
if [ "${1:-}" = --guest ]; then
	# in the guest: rounds until OUTDIR/stop
	S=$2 E=$3 SINK=${4:-}
	ready() { # privileges dropped: right before fwd's loop
		i=0
		while [ $i -lt 300 ] && ! grep -q 'CapEff:.*0000000000000000' /proc/$1/status 2>/dev/null; do
			sleep 0.1
			i=$((i + 1))
		done
	}
	r=0
	while :; do
		r=$((r + 1))
		while [ ! -e "$E/go.$r" ] && [ ! -e "$E/stop" ]; do sleep 0.05; done
		[ -e "$E/stop" ] && break
		R=$E/r$r
		mkdir -p "$R"
		if [ -n "$SINK" ]; then
			# as in the test: a sink on both queues first, fed by
			# the host, stopped 2 s after, then fwd at once
			SLUICE_NO_STATUS=1 "$S" sink 'xdp:eth0,mode=zc,queues=0-1,match=udp:9000' \
				--json --duration 150 >"$R/sink.json" 2>"$R/sink.err" &
			pid=$!
			ready $pid
			touch "$R/sink-ready"
			i=0
			while [ ! -e "$R/sink-sent" ] && [ $i -lt 1200 ]; do
				sleep 0.05
				i=$((i + 1))
			done
			sleep 2
			kill -INT $pid
			wait $pid
		fi
		ethtool -S eth0 >"$R/eth-before" 2>&1
		SL_XDP_RING_DEBUG=1 SLUICE_NO_STATUS=1 "$S" fwd \
			'xdp:eth0,queue=0,mode=zc,match=udp:9000' \
			'xdp:eth0,queue=1,mode=zc,match=udp:9000' \
			--swap-ip --json --duration 150 >"$R/fwd.json" 2>"$R/fwd.err" &
		pid=$!
		ready $pid
		touch "$R/ready"
		i=0
		while [ ! -e "$R/done" ] && [ ! -e "$R/failed" ] && [ $i -lt 1200 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		if [ -e "$R/failed" ]; then
			{
				date -u +%T.%N
				ethtool -S eth0
				ip -s -s link show eth0
				ip neigh show dev eth0
				cat /proc/interrupts | grep -i virtio
				cat /proc/net/softnet_stat
				ss -a --xdp 2>&1
				ethtool -k eth0 | grep -E 'checksum|offload'
				cat /proc/net/snmp
				dmesg | tail -n 20
			} >"$R/guest-fail" 2>&1
			touch "$R/captured"
			i=0
			while [ ! -e "$R/done" ] && [ $i -lt 600 ]; do
				sleep 0.05
				i=$((i + 1))
			done
		fi
		kill -INT $pid
		wait $pid
		echo "fwd rc $?" >>"$R/fwd.err"
		ethtool -S eth0 >"$R/eth-after" 2>&1
		touch "$R/stopped"
	done
	exit 0
fi

SLUICE=${1:?usage: zc_fwd_loop.sh PATH/TO/sluice SOURCE_ROOT OUTDIR MINUTES}
ROOT=${2:?}
OUT=${3:?}
MIN=${4:?}
SLUICE=$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")
ROOT=$(cd "$ROOT" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
. "$ROOT/tests/tools/lib.sh"
. "$ROOT/tests/lab/lib.sh"
LAB=$ROOT/scripts/lab.sh
PEER=$ROOT/tests/tools/udp_peer.py
D=$T_DIR
HOST=10.78.0.1 GUEST=10.78.0.2
NAMES=("zc fwd loop")
lab_start zcl
ns_down
ns_up
lab_tap_up "$HOST" &
T_PIDS="$T_PIDS $!"
end=$(($(date +%s) + MIN * 60))
"$LAB" run --netns "$NS" --nic virtio --queues 2 --addr "$GUEST/24" \
	--share "$OUT" --timeout $((MIN * 60 + 300)) \
	-- "bash $ROOT/tests/lab/zc_fwd_loop.sh --guest $SLUICE $OUT ${SINK:-}" \
	>"$OUT/guest.out" 2>&1 &
lab=$!
T_PIDS="$T_PIDS $lab"
BASE_PIDS=$T_PIDS
# wait: FILE SECONDS; false when the guest is gone or time ran out
wait_file() {
	local i
	for i in $(seq $(($2 * 20))); do
		[ -e "$1" ] && return 0
		kill -0 $lab 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
# PIN=MASK: qemu's threads on those host CPUs (both vCPUs on one CPU
# stands in for the load of a full CI run)
if [ -n "${PIN:-}" ]; then
	for i in $(seq 300); do
		q=$(for p in $(pgrep -f qemu-system); do
			[ "$(ip netns identify "$p" 2>/dev/null)" = "$NS" ] && echo "$p"
		done)
		[ -n "$q" ] && break
		sleep 0.1
	done
	sleep 1 # its threads started
	[ -n "$q" ] && taskset -a -p "$PIN" "$q" >"$OUT/pin" 2>&1
fi
printf 'round\tanswered\tsent\ttimeouts\trx0\trx1\ttx0\ttx1\ttxkick0\ttxkick1\tstall0\tstall1\ttapframes\n' >"$OUT/summary.tsv"
r=0
fails=0
while [ "$(date +%s)" -lt $end ] && [ $r -lt "${ROUNDS:-1000000}" ]; do
	r=$((r + 1))
	R=$OUT/r$r
	mkdir -p "$R"
	ip -n "$NS" neigh flush dev sl-labtap 2>/dev/null
	ip netns exec "$NS" cat /proc/net/snmp >"$R/snmp-before"
	ip netns exec "$NS" tcpdump -p -ni sl-labtap -U --immediate-mode -Z root -w "$R/tap.pcap" \
		>/dev/null 2>"$R/tcpdump.err" &
	td=$!
	T_PIDS="$BASE_PIDS $td"
	for i in $(seq 100); do grep -q listening "$R/tcpdump.err" && break; sleep 0.05; done
	touch "$OUT/go.$r"
	if [ -n "${SINK:-}" ]; then
		wait_file "$R/sink-ready" 120 || { echo "round $r: sink not ready"; break; }
		ip netns exec "$NS" "$SLUICE" gen packet:sl-labtap --to "$GUEST:9000" \
			--from "$HOST:20000" --flows 16 --dst-mac 02:6c:61:62:00:02 \
			--count "${GEN_COUNT:-200}" --rate 400 --json >"$R/gen.json" 2>"$R/gen.err"
		touch "$R/sink-sent"
	fi
	# as the test: the client as soon as fwd is ready (polled each 0.1 s)
	for i in $(seq 3000); do
		[ -e "$R/ready" ] && break
		kill -0 $lab 2>/dev/null || break
		sleep 0.1
	done
	[ -e "$R/ready" ] || { echo "round $r: fwd not ready, guest gone?"; break; }
	ip netns exec "$NS" python3 "$PEER" echo-client "$GUEST" 9000 \
		--count 20 --flows 16 --timeout 1 >"$R/peer.json" 2>&1
	ans=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["answered"])' "$R/peer.json" 2>/dev/null)
	if [ "${ans:-0}" = 0 ]; then
		fails=$((fails + 1))
		touch "$R/failed"
		{
			date -u +%T.%N
			ip -n "$NS" -s -s link show sl-labtap
			ip -n "$NS" neigh show
			ip netns exec "$NS" cat /proc/net/snmp
			ip netns exec "$NS" ss -uanp
		} >"$R/host-fail" 2>&1
		wait_file "$R/captured" 60
	fi
	touch "$R/done"
	wait_file "$R/stopped" 120
	sleep 0.3 # the last frames into the pcap
	kill $td 2>/dev/null
	wait $td 2>/dev/null
	tf=$(tcpdump -nr "$R/tap.pcap" 2>/dev/null | tee "$R/tap.txt" | wc -l)
	[ "${ans:-0}" = 0 ] || rm -f "$R/tap.pcap" "$R/tap.txt"
	python3 - "$R" "$r" "${tf:-?}" >>"$OUT/summary.tsv" <<'EOF'
import json, sys
R, r, tf = sys.argv[1:]
try:
    p = json.load(open(R + "/peer.json"))
except Exception:
    p = {}
try:
    f = json.load(open(R + "/fwd.json"))["ports"]
except Exception:
    f = [{}, {}]
g = lambda x, *k: (lambda v: v)(x.get(k[0], {}).get(k[1], "?") if len(k) == 2 else x.get(k[0], "?"))
print("\t".join(str(v) for v in [
    r, p.get("answered", "?"), p.get("sent", "?"), p.get("timeouts", "?"),
    g(f[0], "stats", "rx_packets"), g(f[1], "stats", "rx_packets"),
    g(f[0], "stats", "tx_packets"), g(f[1], "stats", "tx_packets"),
    g(f[0], "xstats", "tx_wakeups"), g(f[1], "xstats", "tx_wakeups"),
    g(f[0], "xstats", "tx_stall_kicks"), g(f[1], "xstats", "tx_stall_kicks"),
    tf]))
EOF
	echo "round $r answered ${ans:-?} (failures so far: $fails)" >>"$OUT/progress"
done
touch "$OUT/stop"
wait $lab
echo "rounds $r failures $fails" | tee -a "$OUT/progress"
