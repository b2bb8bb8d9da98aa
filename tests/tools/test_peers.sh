#!/usr/bin/env bash
# sluice against peers no one here wrote (root; TAP), on each path (udp,
# packet, xdp) and, where it matters, over IPv4 and IPv6, on the veth test
# bed (sluice in namespace B or A, the peer in the other):
#
#   - a kernel UDP socket (tests/tools/udp_peer.py) as echo client of
#     `sluice echo`: every reply received, byte for byte; as receiver of
#     `sluice gen`: every datagram; as sender into `sluice sink`: every one
#     counted;
#   - a frame with a damaged UDP checksum sent to `sluice echo` (packet,
#     xdp): counted as bad_csum, not answered;
#   - `sluice ping` against socat's UDP echo and inetd's built-in one
#     (kernel servers), and against `sluice echo`: every round trip
#     answered;
#   - iperf2 (`iperf -u`) into `sluice sink`: the sink counts every datagram
#     the kernel sent (nstat UdpOutDatagrams of the sender);
#   - `sluice fwd --swap-ip`: the kernel client's datagrams come back;
#   - tshark with checksum validation over captures (tcpdump on the peer's
#     veth) of what sluice sent: gen, echo, fwd --swap-ip, ping, rdma: zero
#     frames flagged; every RoCEv2 frame's ICRC right by an independent
#     CRC (tests/tools/icrc_check.py);
#   - nstat of the kernels that received sluice's frames: no InCsumErrors,
#     no InErrors.
#
# Round trips are printed as TAP comments ("# rtt ..."): the closing notes
# quote them. The bed is named sl-pe<PID>, removed on exit even on failure.
#
#   test_peers.sh PATH/TO/sluice SOURCE_ROOT
set -u
SLUICE=${1:?usage: test_peers.sh PATH/TO/sluice SOURCE_ROOT}
ROOT=${2:?usage: test_peers.sh PATH/TO/sluice SOURCE_ROOT}
. "$(dirname "$0")/lib.sh"
export SLUICE_NO_STATUS=1
PEER="python3 $(cd "$(dirname "$0")" && pwd)/udp_peer.py"
D=$T_DIR
PATHS="udp packet xdp"

skip_all() {
	local why=$1 p f
	for p in $PATHS; do
		for f in 4 6; do
			t_skip "$p/v$f: kernel client <-> sluice echo" "$why"
			t_skip "$p/v$f: sluice ping <-> socat echo" "$why"
			t_skip "$p/v$f: sluice ping <-> inetd echo" "$why"
			t_skip "$p/v$f: sluice ping <-> sluice echo" "$why"
		done
		t_skip "$p: bad checksum to sluice echo" "$why"
		t_skip "$p: sluice gen -> kernel socket" "$why"
		t_skip "$p: kernel socket -> sluice sink" "$why"
		t_skip "$p: iperf2 -> sluice sink" "$why"
		t_skip "$p: kernel client <-> sluice fwd --swap-ip" "$why"
	done
	t_skip "rdma over udp: write-bw of 200 x 4 KiB completes" "$why"
	t_skip "rdma over xdp: write-bw of 200 x 4 KiB completes" "$why"
	t_skip "rdma over udp: every frame's ICRC right by an independent CRC" "$why"
	t_skip "rdma over xdp: every frame's ICRC right by an independent CRC" "$why"
	t_skip "tshark: every frame sluice sent has valid checksums" "$why"
	t_skip "nstat: no checksum or UDP errors in the receiving kernels" "$why"
	t_done
	exit 0
}

[ "$(id -u)" -eq 0 ] && command -v ip >/dev/null ||
	skip_all "needs root and iproute2 (network namespaces, veth)"
for tool in socat inetd iperf tshark tcpdump nstat python3; do
	command -v $tool >/dev/null || skip_all "$tool is not installed (scripts/deps.sh installs it)"
done

BED=sl-pe$$
BED=${BED:0:13}
bed_down() { "$ROOT/scripts/testbed.sh" down "$BED" >/dev/null 2>&1 || true; }
trap 'bed_down; t_cleanup' EXIT
trap 'exit 1' INT TERM
"$ROOT/scripts/testbed.sh" up "$BED" --json >"$D/bed.json" 2>"$D/bed.err" ||
	skip_all "test bed did not come up: $(head -1 "$D/bed.err")"
read -r NSA NSB IPA IPB IP6A IP6B MACA MACB < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
a, b = j["a"], j["b"]
print(a["netns"], b["netns"], a["ipv4"], b["ipv4"], a["ipv6"], b["ipv6"], a["mac"], b["mac"])' "$D/bed.json")
A() { ip netns exec "$NSA" "$@"; }
B() { ip netns exec "$NSB" "$@"; }
A nstat -n; B nstat -n # zero the history: later reads are deltas
CAPS=

# capture NAME NETNS: tcpdump on the namespace's veth into $D/NAME.pcap,
# until cap_stop; only the frames sluice's side sends are judged later
capture() {
	local name=$1 ns=$2 i
	ip netns exec "$ns" tcpdump -nni "$ns" --immediate-mode -U -w "$D/$name.pcap" udp \
		>"$D/$name.tcpdump" 2>&1 &
	CAP_PID=$!
	T_PIDS="$T_PIDS $CAP_PID"
	for i in $(seq 50); do
		grep -q "listening on" "$D/$name.tcpdump" && break
		sleep 0.05
	done
	CAPS="$CAPS $name"
}
cap_stop() {
	sleep 0.2
	kill -INT "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
}

# spec SIDE PATH FAMILY PORT: a port of sluice in namespace SIDE (a|b)
spec() {
	local side=$1 p=$2 f=$3 port=$4 ns ip
	if [ "$side" = a ]; then ns=$NSA; [ "$f" = 6 ] && ip="[$IP6A]" || ip=$IPA
	else ns=$NSB; [ "$f" = 6 ] && ip="[$IP6B]" || ip=$IPB; fi
	case $p in
	udp) echo "udp:$ip:$port" ;;
	packet) echo "packet:$ns,match=udp:$port,tpacket=v2" ;;
	xdp) echo "xdp:$ns,match=udp:$port" ;;
	esac
}
ipof() { # SIDE FAMILY
	case $1$2 in a4) echo "$IPA" ;; a6) echo "$IP6A" ;; b4) echo "$IPB" ;; b6) echo "$IP6B" ;; esac
}

# start_sluice OUT NETNS ARGS...: a sluice command in the background,
# ready once its socket is bound (udp) or its privileges dropped (others)
start_sluice() {
	local out=$1 ns=$2
	shift 2
	t_bg "$out" ip netns exec "$ns" "$SLUICE" "$@"
	SL_PID=$T_LAST
	case $2 in
	udp:*) local port=${2##*:}; t_udp_ready "${port%%,*}" "$ns" ;;
	*) t_wait_dropped "$SL_PID" 10 ;;
	esac
}
stop_sluice() { kill -INT "$SL_PID" 2>/dev/null; t_wait "$SL_PID" 10; }

# a kernel socket on a port, so that the kernel beside a packet: port
# (which only taps) does not answer ICMP port unreachable
holder() { # NETNS FAMILY PORT
	local ns=$1 f=$2 port=$3
	ip netns exec "$ns" socat -u "UDP$f-RECV:$port" /dev/null &
	T_PIDS="$T_PIDS $!"
	HOLDER=$!
	t_udp_ready "$port" "$ns"
}
holder_stop() { kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null; }

# offload on|off: the veths' transmit checksum offload. Kernel-sent UDP
# on veth carries only the partial checksum the device was to finish, so a
# capture of what a udp: port (the kernel) sends is judged with it off,
# which makes the kernel compute it; packet: and xdp: ports are tested
# with it on, the default, so that their peers' frames come partial
offload() {
	A ethtool -K "$NSA" tx "$1" >/dev/null 2>&1
	B ethtool -K "$NSB" tx "$1" >/dev/null 2>&1
}

RTTS=

# ping_peer NAME WHAT PORT COUNT INTERVAL_US: sluice ping on path $p,
# family $f, from $from in A to PORT in B; every request answered, no
# damaged answer; the round trips go to the note
ping_peer() {
	local name=$1 what=$2 to count=$4 ival=$5 out=$D/ping-$2-$p-$f.json
	if [ $f = 6 ]; then to="[$IP6B]:$3"; else to="$IPB:$3"; fi
	shift 5
	A "$SLUICE" ping "$(spec a $p $f $sport)" --from "$from" --to "$to" \
		--dst-mac "$MACB" --count $count --interval $ival --json "$@" \
		>"$out" 2>"$out.err"
	if t_json "$out" "j['received'] == j['sent'] == $count and j['bad_csum'] == 0" >"$D/why" 2>&1; then
		t_ok "$name ($count/$count)"
		RTTS="$RTTS
# rtt sluice ping $p v$f -> $what ($count, one per $ival us$([ $# -gt 0 ] && echo " $*")): $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["rtt_us"]; print("p50 %.1f p99 %.1f p99.9 %.1f us" % (r["p50"], r["p99"], r["p99.9"]))' "$out")"
	else
		t_fail "$name" "$(cat "$D/why") $(cat "$out.err")"
	fi
}

# inetd's built-in UDP echo on port 7 in B, both families, all along
printf 'echo\tdgram\tudp\twait\troot\tinternal\necho\tdgram\tudp6\twait\troot\tinternal\n' >"$D/inetd.conf"
ip netns exec "$NSB" inetd -d "$D/inetd.conf" >"$D/inetd.log" 2>&1 &
T_PIDS="$T_PIDS $!"
t_udp_ready 7 "$NSB"

# ---- 1, 2: kernel client <-> sluice echo; sluice ping <-> socat ---------
for p in $PATHS; do
	[ $p = udp ] && offload off || offload on
	for f in 4 6; do
		port=7$f$(echo $p | cut -c1 | tr 'upx' '123')0
		name="$p/v$f: kernel client <-> sluice echo"
		capture "echo-$p-$f" "$NSA"
		[ $p = packet ] && holder "$NSB" $f $port
		start_sluice "$D/echo-$p-$f.json" "$NSB" echo "$(spec b $p $f $port)" --json --duration 30
		A $PEER echo-client "$(ipof b $f)" $port --count 200 >"$D/cli-$p-$f.json" 2>&1
		stop_sluice
		[ $p = packet ] && holder_stop
		cap_stop
		if t_json "$D/cli-$p-$f.json" 'j["answered"] == j["sent"] == 200 and j["mismatched"] == 0' >"$D/why" 2>&1; then
			t_ok "$name (200/200 byte for byte)"
			RTTS="$RTTS
# rtt kernel client -> sluice echo $p v$f: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["rtt_us"]; print("p50 %s p99 %s p99.9 %s us" % (r["p50"], r["p99"], r["p999"]))' "$D/cli-$p-$f.json")"
		else
			t_fail "$name" "$(cat "$D/why") $(cat "$D/echo-$p-$f.json.err" 2>/dev/null)"
		fi

		# sluice ping in A against kernel echo servers in B
		sport=$((port + 5))
		if [ $f = 6 ]; then from="[$IP6A]:$sport"; else from="$IPA:$sport"; fi
		[ $p = packet ] && holder "$NSA" $f $sport && holder2=$HOLDER

		# socat's echo, one process: it connects to the first peer and
		# echoes through a pipe, which is a byte stream: two datagrams
		# queued at once come back as one (seen at 5 ms apart on this
		# VM), so one request in flight at a time (--one)
		capture "ping-$p-$f" "$NSB"
		ip netns exec "$NSB" socat "UDP$f-LISTEN:$port" PIPE &
		SOCAT=$!
		T_PIDS="$T_PIDS $SOCAT"
		t_udp_ready $port "$NSB"
		ping_peer "$p/v$f: sluice ping <-> socat echo" socat $port 200 1000 --one
		kill $SOCAT 2>/dev/null; wait $SOCAT 2>/dev/null
		cap_stop

		# inetd's built-in echo (port 7), datagram for datagram: fast
		ping_peer "$p/v$f: sluice ping <-> inetd echo" inetd 7 1000 200

		# and sluice echo on the same path, for the note
		[ $p = packet ] && holder "$NSB" $f $port
		start_sluice "$D/pe-$p-$f.json" "$NSB" echo "$(spec b $p $f $port)" --json --duration 30
		ping_peer "$p/v$f: sluice ping <-> sluice echo" sluice-echo $port 200 2000
		stop_sluice
		[ $p = packet ] && { holder_stop; kill "$holder2"; wait "$holder2" 2>/dev/null; }
	done
done

# ---- 3: a damaged frame is counted and not answered ---------------------
for p in $PATHS; do
	name="$p: bad checksum to sluice echo"
	if [ $p = udp ]; then
		# the kernel drops it before the socket: nothing for sluice to see
		t_ok "$name (udp: the kernel drops it before the socket)"
		continue
	fi
	port=7090
	start_sluice "$D/bad-$p.json" "$NSB" echo "$(spec b $p 4 $port)" --json --duration 30
	A $PEER raw-bad "$NSA" "$MACA" "$MACB" "$IPA" "$IPB" $port >"$D/bad-$p.raw" 2>&1
	A $PEER echo-client "$IPB" $port --count 3 >"$D/bad-$p.cli" 2>&1
	stop_sluice
	t_check "$name: counted, not answered; good ones answered" t_json "$D/bad-$p.json" \
		'j["bad_csum"] == 1 and j["rx_packets"] == 4 and j["ports"][0]["stats"]["tx_packets"] == 3'
done

# ---- 4, 5: sluice gen -> kernel socket; kernel socket -> sluice sink ----
for p in $PATHS; do
	[ $p = udp ] && offload off || offload on
	port=9010
	capture "gen-$p" "$NSB"
	B $PEER recv "$IPB" $port --idle 1 --ready "$D/ready-$p" >"$D/recv-$p.json" 2>&1 &
	R=$!
	T_PIDS="$T_PIDS $R"
	for i in $(seq 50); do [ -e "$D/ready-$p" ] && break; sleep 0.05; done
	A "$SLUICE" gen "$(spec a $p 4 9011)" --from "$IPA:9011" --to "$IPB:$port" \
		--dst-mac "$MACB" --count 500 --rate 20000 --size 200 >"$D/gen-$p.out" 2>&1
	wait $R
	cap_stop
	t_check "$p: sluice gen -> kernel socket (500/500, gen payloads)" \
		t_json "$D/recv-$p.json" 'j["received"] == 500 and j["gen"] == 500'

	port=9020
	[ $p = packet ] && holder "$NSB" 4 $port
	start_sluice "$D/sink-$p.json" "$NSB" sink "$(spec b $p 4 $port)" --json --idle 1 --duration 30
	A $PEER send "$IPB" $port --count 500 --pps 20000 >/dev/null 2>&1
	t_wait "$SL_PID" 20
	[ $p = packet ] && holder_stop
	t_check "$p: kernel socket -> sluice sink (500/500)" \
		t_json "$D/sink-$p.json" 'j["rx_packets"] == 500 and j["foreign"] == 500'
done

# ---- 6: iperf2 -> sluice sink --------------------------------------------
nstat_get() { # NETNS COUNTER: its value since the last nstat call there
	ip netns exec "$1" nstat -z "$2" 2>/dev/null | awk -v c="$2" '$1 == c { print $2 }'
}
for p in $PATHS; do
	port=5001
	[ $p = packet ] && holder "$NSB" 4 $port
	start_sluice "$D/iperf-$p.json" "$NSB" sink "$(spec b $p 4 $port)" --json --idle 1 --duration 30
	A nstat -n
	A timeout 30 iperf -u -c "$IPB" -p $port -b 20M -l 1000 -n 2000000 --no-udp-fin >"$D/iperf-$p.out" 2>&1
	out=$(nstat_get "$NSA" UdpOutDatagrams)
	t_wait "$SL_PID" 20
	[ $p = packet ] && holder_stop
	sent=$(sed -n 's/.*Sent \([0-9]*\) datagrams.*/\1/p' "$D/iperf-$p.out")
	# iperf 2.1 reports one more than it writes (its count is the last
	# sequence number + 1): the kernel's count is the reference
	if t_json "$D/iperf-$p.json" "j['rx_packets'] == ${out:-0} > 0 and ${out:-0} in (${sent:--1}, ${sent:-0} - 1)" >"$D/why"; then
		t_ok "$p: iperf2 -> sluice sink (sink $out = kernel sent $out; iperf says $sent)"
	else
		t_fail "$p: iperf2 -> sluice sink" "kernel sent ${out:-?}, iperf says ${sent:-?}; $(cat "$D/why")"
	fi
done

# ---- 7: what sluice sent to rdma and fwd, captured too -----------------
# fwd --swap-ip on each path, a kernel client on the other end
for p in $PATHS; do
	[ $p = udp ] && offload off || offload on
	capture "fwd-$p" "$NSA"
	[ $p = packet ] && holder "$NSB" 4 7300
	start_sluice "$D/fwd-$p.json" "$NSB" fwd "$(spec b $p 4 7300)" --swap-ip --json --duration 30
	A $PEER echo-client "$IPB" 7300 --count 50 >"$D/fwd-$p.cli" 2>&1
	stop_sluice
	[ $p = packet ] && holder_stop
	cap_stop
	t_check "$p: kernel client <-> sluice fwd --swap-ip (50/50 byte for byte)" \
		t_json "$D/fwd-$p.cli" 'j["answered"] == j["sent"] == 50 and j["mismatched"] == 0'
done
offload on
# rdma: a write-bw over udp: ports and over xdp: ports; both ends are
# sluice, so both directions are judged
rdma() { # NAME SERVER_PORT CLIENT_PORT [SERVER_ARGS...]
	local name=$1 sp=$2 cp=$3 i
	shift 3
	capture "$name" "$NSA"
	t_bg "$D/$name-srv.json" B "$SLUICE" rdma server "$sp" --size 1048576 --json "$@"
	RS=$T_LAST
	for i in $(seq 100); do
		B ss -Hltn "sport = :4791" | grep -q . && break
		sleep 0.05
	done
	A "$SLUICE" rdma write-bw "$cp" --to "$IPB:4791" --size 4096 --iters 200 \
		--json >"$D/$name.json" 2>"$D/$name.err"
	t_wait $RS 10
	cap_stop
}
offload off
rdma rdma-udp "udp:$IPB:4791" "udp:$IPA:4791"
offload on
# over xdp no tcpdump sees the frames (AF_XDP transmits past the taps and
# the receiving end's XDP program takes them first): the ports' own
# capture= records what each sent and received, after the checksum fill
rdma rdma-xdp "xdp:$NSB,match=udp:4791,capture=$D/rdma-xdp-b.pcap" \
	"xdp:$NSA,match=udp:4791,capture=$D/rdma-xdp-a.pcap" --listen "$IPB:4791"
CAPS="${CAPS/rdma-xdp/rdma-xdp-a rdma-xdp-b}"
for c in udp xdp; do
	t_check "rdma over $c: write-bw of 200 x 4 KiB completes" t_json "$D/rdma-$c.json" \
		'j["iters"] == 200 and j["bytes"] == 200 * 4096'
done
# every RoCEv2 frame's ICRC as a RoCE NIC would check it: over the IPv4
# header on the wire, the ID the kernel wrote included (udp: ports)
for c in udp xdp; do
	if [ $c = udp ]; then files="$D/rdma-udp.pcap"
	else files="$D/rdma-xdp-a.pcap $D/rdma-xdp-b.pcap"; fi
	if python3 "$(dirname "$0")/icrc_check.py" $files >"$D/icrc-$c" 2>&1; then
		t_ok "rdma over $c: every frame's ICRC right by an independent CRC ($(cat "$D/icrc-$c"))"
	else
		t_fail "rdma over $c: every frame's ICRC right by an independent CRC" "$(cat "$D/icrc-$c")"
	fi
done

# ---- 8: tshark over every capture ----------------------------------------
# frames sent by sluice's side: echo and rdma server replies in A's
# captures come from B; gen and ping frames in B's captures from A
bad=
total=0
for c in $CAPS; do
	[ -s "$D/$c.pcap" ] || { bad="$bad $c:no-capture"; continue; }
	case $c in
	echo-* | fwd-*) flt="ip.src == $IPB || ipv6.src == $IP6B" ;;
	rdma-*) flt="udp.port == 4791" ;;
	*) flt="ip.src == $IPA || ipv6.src == $IP6A" ;;
	esac
	tshark -r "$D/$c.pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-Y "$flt" -T fields -e ip.checksum.status -e udp.checksum.status \
		>"$D/$c.status" 2>/dev/null
	n=$(wc -l <"$D/$c.status")
	total=$((total + n))
	# status 0 is Bad (1 good, 2 unverified, 3 not present)
	nbad=$(awk -F'\t' '$1 == "0" || $2 == "0"' "$D/$c.status" | wc -l)
	[ "$n" -gt 0 ] || bad="$bad $c:empty"
	[ "$nbad" -eq 0 ] || bad="$bad $c:$nbad/$n"
done
if [ -z "$bad" ]; then
	t_ok "tshark: every frame sluice sent has valid checksums ($total frames, $(echo $CAPS | wc -w) captures)"
else
	t_fail "tshark: every frame sluice sent has valid checksums" "flagged or missing:$bad"
fi

# ---- 9: the kernels that got sluice's frames saw nothing wrong -----------
errs=
for ns in "$NSA" "$NSB"; do
	# the damaged frame of step 3 reached the kernel beside the packet:
	# echo (a packet socket only taps): B may count exactly that one
	allow=0
	[ "$ns" = "$NSB" ] && allow=1
	ip netns exec "$ns" nstat -a >"$D/nstat-$ns" 2>/dev/null
	e=$(awk -v allow=$allow '
		$1 == "UdpInCsumErrors" || $1 == "UdpInErrors" { if ($2 > allow) printf "%s=%s ", $1, $2; next }
		$1 ~ /^Udp6(InCsumErrors|InErrors)$|^Ip6?InHdrErrors$|^IpExtInCsumErrors$/ && $2 > 0 { printf "%s=%s ", $1, $2 }' "$D/nstat-$ns")
	[ -z "$e" ] || errs="$errs $ns: $e"
done
if [ -z "$errs" ]; then
	t_ok "nstat: no checksum or UDP errors in the receiving kernels"
else
	t_fail "nstat: no checksum or UDP errors in the receiving kernels" "$errs"
fi

echo "$RTTS"
bed_down
t_done
