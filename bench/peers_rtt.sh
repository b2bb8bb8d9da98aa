#!/usr/bin/env bash
# Round trips against peers no one here wrote, on each path (root): one
# table, measured in one run on one veth test bed, each side pinned (the
# client on CPU 0, the server on CPU 1 where it is ours to pin):
#
#   sluice ping PATH --busy  ->  sluice echo PATH --busy
#   sluice ping PATH --busy  ->  inetd's built-in UDP echo (a kernel server)
#   sluice ping PATH --busy  ->  socat's UDP echo (--one: one request in
#                                flight; it echoes through a pipe, which
#                                merges datagrams that arrive together)
#   a kernel UDP client (Python, tests/tools/udp_peer.py) -> sluice echo
#
# and the ratio of each p50 to the kernel's own round trip (sluice ping on
# a udp: port against inetd), measured in the same run. sluice ping
# reports the whole round trip (sockperf would print half). Numbers only:
# this never fails on them.
#
#   bench/peers_rtt.sh [PATH/TO/sluice] [--count N]
set -uo pipefail
cd "$(dirname "$0")/.."
SLUICE=${1:-build-bench/tools/sluice}
COUNT=${COUNT:-5000}
[ "$(id -u)" -eq 0 ] || { echo "peers_rtt.sh: needs root (test bed)"; exit 0; }
[ -x "$SLUICE" ] || { echo "peers_rtt.sh: no $SLUICE (ninja -C build-bench tools/sluice)"; exit 1; }
for t in socat inetd python3 taskset; do
	command -v $t >/dev/null || { echo "peers_rtt.sh: $t missing (scripts/deps.sh)"; exit 1; }
done
unset SLUICE_DEBUG
export SLUICE_NO_STATUS=1
BED=sl-rt$$
BED=${BED:0:13}
D=$(mktemp -d /tmp/sl-rtt.XXXXXX)
PIDS=
cleanup() {
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	scripts/testbed.sh down "$BED" >/dev/null 2>&1
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
scripts/testbed.sh up "$BED" --json >"$D/bed.json" || exit 1
read -r NSA NSB IPA IPB MACB < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["a"]["netns"], j["b"]["netns"], j["a"]["ipv4"], j["b"]["ipv4"], j["b"]["mac"])' "$D/bed.json")
bg() { "$@" >/dev/null 2>&1 & PIDS="$PIDS $!"; LAST=$!; }
ready() { # PORT: a socket bound in B
	local i
	for i in $(seq 100); do
		ip netns exec "$NSB" ss -Hlun "sport = :$1" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

printf 'echo\tdgram\tudp\twait\troot\tinternal\n' >"$D/inetd.conf"
bg ip netns exec "$NSB" taskset -c 1 inetd -d "$D/inetd.conf"
ready 7

spec() { # SIDE PATH PORT
	local ns ip
	if [ "$1" = a ]; then ns=$NSA ip=$IPA; else ns=$NSB ip=$IPB; fi
	case $2 in
	udp) echo "udp:$ip:$3" ;;
	packet) echo "packet:$ns,match=udp:$3,tpacket=v2" ;;
	xdp) echo "xdp:$ns,match=udp:$3" ;;
	esac
}
# ping PATH TO_PORT COUNT INTERVAL [ARGS]: prints "p50 p99 p999 rcv sent"
ping_rtt() {
	local p=$1 to=$2 n=$3 iv=$4
	shift 4
	ip netns exec "$NSA" taskset -c 0 "$SLUICE" ping "$(spec a $p 7100)" \
		--from "$IPA:7100" --to "$IPB:$to" --dst-mac "$MACB" --count "$n" \
		--interval "$iv" --busy --json "$@" 2>/dev/null | python3 -c '
import json, sys
try:
    j = json.load(sys.stdin); r = j["rtt_us"]
    print("%.1f %.1f %.1f %d %d" % (r["p50"], r["p99"], r["p99.9"], j["received"], j["sent"]))
except Exception:
    print("- - - 0 0")'
}
row() { # LABEL "p50 p99 p999 rcv sent"
	local l=$1
	set -- $2
	if [ "$1" = - ]; then printf '%-44s %s\n' "$l" "failed"; return; fi
	printf '%-44s %8s %8s %8s %8s   %s/%s\n' "$l" "$1" "$2" "$3" \
		"$(python3 -c "print('%.2f' % ($1 / $BASE))" 2>/dev/null || echo -)" "$4" "$5"
}

# the baseline first: the kernel both ways
base=$(ping_rtt udp 7 "$COUNT" 200)
BASE=$(echo "$base" | cut -d' ' -f1)
echo "round trips on a veth test bed, client on CPU 0, sluice servers on CPU 1; $(uname -r)"
printf '%-44s %8s %8s %8s %8s   %s\n' "client -> server" "p50 us" "p99" "p99.9" "x base" "answered"
row "ping udp -> inetd echo (base: the kernel)" "$base"
for p in udp packet xdp; do
	holder=
	if [ $p = packet ]; then # the kernel beside a packet: port stays quiet
		bg ip netns exec "$NSA" socat -u UDP4-RECV:7100 /dev/null
		holder=$LAST
	fi
	[ $p = udp ] || row "ping $p -> inetd echo" "$(ping_rtt $p 7 "$COUNT" 200)"
	bg ip netns exec "$NSB" socat UDP4-LISTEN:7200 PIPE
	s=$LAST
	ready 7200
	row "ping $p -> socat echo (1000, --one)" "$(ping_rtt $p 7200 1000 200 --one)"
	kill $s; wait $s 2>/dev/null
	h2=
	[ $p = packet ] && bg ip netns exec "$NSB" socat -u UDP4-RECV:7300 /dev/null && h2=$LAST
	bg ip netns exec "$NSB" taskset -c 1 "$SLUICE" echo "$(spec b $p 7300)" --busy --duration 60
	e=$LAST
	sleep 1.5 # its port open, its privileges dropped
	row "ping $p -> sluice echo $p" "$(ping_rtt $p 7300 "$COUNT" 200)"
	k=$(ip netns exec "$NSA" taskset -c 0 python3 tests/tools/udp_peer.py echo-client "$IPB" 7300 --count 2000 | python3 -c '
import json, sys
j = json.load(sys.stdin); r = j["rtt_us"]
print("%s %s %s %d %d" % (r["p50"], r["p99"], r["p999"], j["answered"], j["sent"]))')
	row "kernel client (Python) -> sluice echo $p" "$k"
	kill -INT $e; wait $e 2>/dev/null
	[ -n "$h2" ] && { kill $h2; wait $h2 2>/dev/null; }
	[ -n "$holder" ] && { kill $holder; wait $holder 2>/dev/null; }
done
echo "x base: p50 over the base row's p50. The Python client's own cost (tens of us) is in its rows."
