#!/usr/bin/env bash
# AF_XDP zero-copy with several queues, in the lab (scripts/lab.sh), as root
# (TAP). The guest's virtio-net has two queue pairs; sluice runs inside the
# guest on zero-copy sockets, kernel sockets and `sluice gen` on the tap's
# side of the link:
#   1. RSS spreads 16 flows over both queues: a zero-copy sink on
#      queues=0-1 gets every frame, each queue gets some, and the
#      per-queue counters add up to the total
#   2. the need_wakeup path ran for real: the kernel asked for fill and TX
#      kicks and sluice made them (counted), and every descriptor the
#      zero-copy driver handed over passed sluice's checks
#   3. forwarding between two zero-copy queues that share one UMEM: `sluice
#      fwd` with a port on queue 0 and one on queue 1 answers every
#      datagram of 16 kernel-socket flows byte for byte, both ports forward
#      (the flows landed on both queues), and no frame was copied
#      (tx_copied 0 on both)
# The tap lives in a namespace of the test's own, removed on exit even on
# failure. Speeds under TCG mean nothing and none is reported.
#
#   test_lab_zc.sh PATH/TO/sluice SOURCE_ROOT
set -u
SLUICE=${1:?usage: test_lab_zc.sh PATH/TO/sluice SOURCE_ROOT}
ROOT=${2:?usage: test_lab_zc.sh PATH/TO/sluice SOURCE_ROOT}
SLUICE=$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")
ROOT=$(cd "$ROOT" && pwd)
. "$ROOT/tests/tools/lib.sh"
. "$ROOT/tests/lab/lib.sh"
export SLUICE_NO_STATUS=1
LAB=$ROOT/scripts/lab.sh
PEER=$ROOT/tests/tools/udp_peer.py
D=$T_DIR
HOST=10.78.0.1 GUEST=10.78.0.2 GUEST_MAC=02:6c:61:62:00:02
NAMES=("lab: zc: RSS spreads 16 flows over both queues of a zero-copy sink; per-queue counters add up to the total"
	"lab: zc: need_wakeup kicks made as the kernel asked; every zero-copy descriptor passed the checks"
	"lab: zc: sluice fwd between two zero-copy queues sharing a UMEM answers 16 kernel flows, no frame copied")
lab_start lzc
ns_up

COUNT=2000
(
	lab_tap_up "$HOST"
	# 1: 16 flows by source port from a packet port on the tap
	for i in $(seq 1800); do [ -e "$D/rss-ready" ] && break; sleep 0.1; done
	ip netns exec "$NS" "$SLUICE" gen packet:sl-labtap --to "$GUEST:9000" \
		--from "$HOST:20000" --flows 16 --dst-mac $GUEST_MAC \
		--count $COUNT --rate 400 --json >"$D/rss-gen.json" 2>"$D/rss-gen.err"
	touch "$D/rss-sent"
	# 3: kernel sockets, one per flow, each datagram waiting for its answer
	for i in $(seq 1800); do [ -e "$D/fwd-ready" ] && break; sleep 0.1; done
	ip netns exec "$NS" python3 "$PEER" echo-client "$GUEST" 9000 \
		--count 400 --flows 16 --timeout 2 >"$D/fwd-peer.json" 2>&1
	touch "$D/fwd-sent"
) &
T_PIDS="$T_PIDS $!"

guest_cmd="
S=$SLUICE
ready() { # once its privileges are dropped, right before its loop
	i=0; while [ \$i -lt 300 ] && ! grep -q 'CapEff:.*0000000000000000' /proc/\$1/status 2>/dev/null; do sleep 0.1; i=\$((i + 1)); done
}
\$S sink 'xdp:eth0,mode=zc,queues=0-1,match=udp:9000' --json --duration 150 >$D/rss.json 2>$D/rss.err &
pid=\$!
ready \$pid
touch $D/rss-ready
i=0; while [ ! -e $D/rss-sent ] && [ \$i -lt 1500 ]; do sleep 0.1; i=\$((i + 1)); done
sleep 2
kill -INT \$pid
wait \$pid
\$S fwd 'xdp:eth0,queue=0,mode=zc,match=udp:9000' 'xdp:eth0,queue=1,mode=zc,match=udp:9000' \
	--swap-ip --json --duration 150 >$D/fwd.json 2>$D/fwd.err &
pid=\$!
ready \$pid
touch $D/fwd-ready
i=0; while [ ! -e $D/fwd-sent ] && [ \$i -lt 1500 ]; do sleep 0.1; i=\$((i + 1)); done
kill -INT \$pid
wait \$pid
"
"$LAB" run --netns "$NS" --queues 2 --addr "$GUEST/24" --share "$D" --timeout 400 -- "$guest_cmd" >"$D/guest.out" 2>&1
rc=$?

sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tx_packets"])' "$D/rss-gen.json" 2>/dev/null)
if [ -n "$sent" ] && t_json "$D/rss.json" "j['rx_packets'] == $sent == $COUNT and 'zc' in j['port']['mode'] and len(j['port']['queue_stats']) == 2 and min(s['rx_packets'] for s in j['port']['queue_stats']) > 0 and sum(s['rx_packets'] for s in j['port']['queue_stats']) == j['port']['stats']['rx_packets'] == $COUNT" >"$D/why" 2>&1; then
	t_ok "${NAMES[0]} ($(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["port"]; print("queues %s of %d" % ([s["rx_packets"] for s in j["queue_stats"]], j["stats"]["rx_packets"]))' "$D/rss.json"))"
else
	t_fail "${NAMES[0]}" "guest rc=$rc gen sent ${sent:-?} $(head -c 1500 "$D/why") $(tail -n 5 "$D/rss.err" "$D/rss-gen.err" 2>/dev/null) $(tail -n 10 "$D/guest.out")"
fi

# wakeups: the kernel's need_wakeup flags asked for kicks (sink: fill
# ring; fwd: TX) and sluice made them; the descriptor checks saw every
# frame and refused none
if t_json "$D/rss.json" "j['port']['xstats']['wakeups'] > j['port']['xstats']['tx_wakeups'] and j['port']['xstats']['rx_invalid_desc'] == 0" >"$D/why" 2>&1 &&
	t_json "$D/fwd.json" "all(x['xstats']['tx_wakeups'] > 0 and x['xstats']['rx_invalid_desc'] == 0 and x['xstats']['tx_invalid_comp'] == 0 for x in j['ports'])" >>"$D/why" 2>&1; then
	t_ok "${NAMES[1]} ($(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["port"]["xstats"]
f = json.load(open(sys.argv[2]))["ports"]
print("sink: %d fill kicks; fwd: %s TX kicks, %s of them unasked after a stall; invalid descriptors 0" % (
    s["wakeups"] - s["tx_wakeups"], [p["xstats"]["tx_wakeups"] for p in f],
    [p["xstats"]["tx_stall_kicks"] for p in f]))' "$D/rss.json" "$D/fwd.json"))"
else
	t_fail "${NAMES[1]}" "$(head -c 2000 "$D/why")"
fi

if t_json "$D/fwd-peer.json" "j['answered'] == j['sent'] == 400 and j['flows_answered'] == 16" >"$D/why" 2>&1 &&
	t_json "$D/fwd.json" "all('zc' in x['mode'] and x['xstats']['tx_copied'] == 0 and x['stats']['rx_packets'] > 0 for x in j['ports'])" >>"$D/why" 2>&1; then
	t_ok "${NAMES[2]} ($(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["ports"]
print("queue 0 port received %d, queue 1 port %d; tx_copied %s" % (
    p[0]["stats"]["rx_packets"], p[1]["stats"]["rx_packets"],
    [x["xstats"]["tx_copied"] for x in p]))' "$D/fwd.json"))"
else
	t_fail "${NAMES[2]}" "guest rc=$rc $(head -c 400 "$D/why") $(python3 -c '
import json, sys
for p in json.load(open(sys.argv[1]))["ports"]:
    print(p["spec"], p["mode"], p["stats"], {k: v for k, v in p["xstats"].items() if v})' "$D/fwd.json" 2>&1) $(tail -n 5 "$D/fwd.err" 2>/dev/null)"
fi
t_done
