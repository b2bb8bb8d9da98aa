#!/usr/bin/env bash
# `sluice run` with real, unmodified programs (docs/run.md): programs
# without UDP run as without it; on the veth test bed (root), servers in
# namespace B under `sluice run --path xdp` answer kernel clients in A byte
# for byte (a blocking python3 echo, asyncio's epoll loop, selectors,
# socat UDP-RECVFROM with fork, sockperf, iperf2 -u, a DNS server asked by
# dig), clients under it reach kernel servers (sockperf ping-pong, iperf2
# -u), iperf3 -u runs with both ends under it, the report names each socket's path and counts; TCP in the same
# program stays kernel and works; an option sluice does not implement
# sends that socket to the kernel, named in the report; a SO_REUSEPORT
# group shares the flows over its sockets on xdp, and goes to the kernel
# with a BPF program; a program killed by SIGTERM still writes its report
# and dies of the signal, one with its own handler runs it; SIGKILL leaves
# no XDP program on the interface; on a 4-queue veth a blocking, an
# epoll and a poll echo get a kernel client's 40 flows through the port
# on several queues (rx_kernel=0), and on a 20-queue one the port reads
# 16 and the kernel socket the rest. The beds are sl-tr<PID> and sl-mq<PID>,
# removed on exit. Prints TAP.
#
#   test_run.sh PATH/TO/sluice SOURCE_ROOT [PATH/TO/vfork_close]
set -u
SLUICE=${1:?usage: test_run.sh PATH/TO/sluice SOURCE_ROOT [vfork_close]}
ROOT=${2:?usage: test_run.sh PATH/TO/sluice SOURCE_ROOT [vfork_close]}
VFORK_CLOSE=${3:-}
. "$(dirname "$0")/lib.sh"
D=$T_DIR
PROGS=$(cd "$(dirname "$0")" && pwd)/run_progs.py
N=46

# programs that use no UDP: exit status and output are theirs
t_check "run: true" "$SLUICE" run -- true
out=$("$SLUICE" run -- sh -c 'echo hi; exit 3'); rc=$?
[ "$out" = hi ] && [ $rc -eq 3 ] && t_ok "run: sh keeps output and status" ||
	t_fail "run: sh keeps output and status" "out=$out rc=$rc"
out=$("$SLUICE" run -- python3 -c 'print(1)' 2>&1)
[ "$out" = 1 ] && t_ok "run: python3" || t_fail "run: python3" "$out"
# a static program never loads the preload: it runs, and sluice run and
# the report say why nothing of it is served (busybox-static: the lab's)
if command -v busybox >/dev/null && ! ldd "$(command -v busybox)" >/dev/null 2>&1; then
	out=$("$SLUICE" run --report="$D/static.report" -- busybox echo hi 2>"$D/static.err")
	rc=$?
	if [ $rc -eq 0 ] && [ "$out" = hi ] &&
		grep -q 'busybox is statically linked' "$D/static.err" &&
		grep -q "pid=[0-9]* program=busybox path=kernel why=\"statically linked" "$D/static.report" &&
		! "$SLUICE" run -- python3 -c 'pass' 2>&1 | grep -q .; then
		t_ok "run: a static program runs, told it stays on kernel sockets"
	else
		t_fail "run: a static program runs, told it stays on kernel sockets" \
			"rc=$rc out=$out $(cat "$D/static.err" "$D/static.report" 2>&1)"
	fi
else
	t_skip "run: a static program runs, told it stays on kernel sockets" \
		"no statically linked busybox"
fi

# killed by a signal it left at SIG_DFL: the report lines are written all
# the same and the exit status still says the signal (128 + 15)
# run_sleep NAME [handler]: run_progs.py sleep under sluice run --report,
# then SIGTERM; returns its exit status
run_sleep() {
	local name=$1 i
	shift
	"$SLUICE" run --report="$D/$name.report" -- python3 "$PROGS" sleep "$@" \
		>"$D/$name.out" 2>&1 &
	T_LAST=$!
	for i in $(seq 50); do
		grep -q ready "$D/$name.out" 2>/dev/null && break
		sleep 0.1
	done
	kill -TERM $T_LAST
	wait $T_LAST
}
run_sleep term
rc=$?
if [ $rc -eq 143 ] && grep -q 'udp4 127.0.0.1:.* path=kernel .*why="bound on loopback"' "$D/term.report"; then
	t_ok "run: SIGTERM: report lines written, exit status signal 15"
else
	t_fail "run: SIGTERM: report lines written, exit status signal 15" \
		"rc=$rc $(cat "$D/term.out" "$D/term.report" 2>&1)"
fi
run_sleep own handler
rc=$?
if [ $rc -eq 0 ] && grep -q 'handled 15' "$D/own.out" &&
	[ "$(grep -c . "$D/own.report")" = 1 ]; then
	t_ok "run: a SIGTERM handler of the program's own still runs"
else
	t_fail "run: a SIGTERM handler of the program's own still runs" \
		"rc=$rc $(cat "$D/own.out" "$D/own.report" 2>&1)"
fi

t_bed sl-tr "run bed %s" $(seq $((N - 6)))
# a second bed, with several queues, later on
MQ=sl-mq$$
MQ=${MQ:0:13}
T_BEDS="$T_BEDS $MQ"
no_xdp() { ! B ip link show "$IFB" | grep -q 'prog/xdp'; }

# serve NAME PORT CMD...: CMD under sluice run --path xdp in B, report in
# $D/NAME.report; waits for the port
serve() { t_serve "$1" "$2" 0.3 "${@:3}"; }
# nft_drop TABLE PORT: an nftables table in B whose input chain drops UDP
# to PORT (nft delete table inet TABLE removes it)
nft_drop() {
	B nft add table inet "$1" &&
		B nft add chain inet "$1" in '{ type filter hook input priority 0; }' &&
		B nft add rule inet "$1" in udp dport "$2" drop
}
# served NAME: the report has a socket on xdp that received and sent
served() {
	grep -q 'path=xdp .*rx=[1-9][0-9]* .*tx=[1-9]' "$D/$1.report" 2>/dev/null
}

serve echo 7001 python3 "$PROGS" echo 7001 200
if A python3 "$PROGS" client "$IPB" 7001 200 >"$D/c1" 2>&1 && t_wait $T_LAST 10 &&
	served echo; then
	t_ok "python3 blocking echo on xdp: 200 replies, report"
else
	t_fail "python3 blocking echo on xdp: 200 replies, report" \
		"$(cat "$D/c1" "$D/echo.out.err" "$D/echo.report" 2>&1)"
fi

RUN_PATH=packet serve pkt 7022 python3 "$PROGS" echo 7022 100
if A python3 "$PROGS" client "$IPB" 7022 100 >"$D/c11" 2>&1 && t_wait $T_LAST 10 &&
	grep -q 'path=packet .*rx=100 .*tx=100 ' "$D/pkt.report"; then
	t_ok "python3 blocking echo on packet (--path packet)"
else
	t_fail "python3 blocking echo on packet (--path packet)" \
		"$(cat "$D/c11" "$D/pkt.out.err" "$D/pkt.report" 2>&1)"
fi

# IPv6, and IPv4 into the same socket on [::]: both served, the replies
# to IPv4-mapped addresses too (the port sends them as IPv4)
serve echo6 7021 python3 "$PROGS" echo6 7021 100
if A python3 "$PROGS" client "$IP6B" 7021 50 >"$D/c10" 2>&1 &&
	A python3 "$PROGS" client "$IPB" 7021 50 >>"$D/c10" 2>&1 &&
	t_wait $T_LAST 10 &&
	grep -q 'udp6 \[::\]:7021 path=xdp .*rx=100 .*tx=100 .*tx_kernel=0 ' "$D/echo6.report"; then
	t_ok "IPv6 echo on [::] on xdp, IPv4 into it too, every reply on the port"
else
	t_fail "IPv6 echo on [::] on xdp, IPv4 into it too, every reply on the port" \
		"$(cat "$D/c10" "$D/echo6.out.err" "$D/echo6.report" 2>&1)"
fi

serve aio 7002 python3 "$PROGS" asyncio 7002 100
if A python3 "$PROGS" client "$IPB" 7002 100 >"$D/c2" 2>&1 && t_wait $T_LAST 10 &&
	served aio; then
	t_ok "python3 asyncio datagram endpoint (epoll) on xdp"
else
	t_fail "python3 asyncio datagram endpoint (epoll) on xdp" \
		"$(cat "$D/c2" "$D/aio.out.err" "$D/aio.report" 2>&1)"
fi

serve sel 7003 python3 "$PROGS" selectors 7003 100
if A python3 "$PROGS" client "$IPB" 7003 100 >"$D/c3" 2>&1 && t_wait $T_LAST 10 &&
	served sel; then
	t_ok "python3 non-blocking socket with selectors on xdp"
else
	t_fail "python3 non-blocking socket with selectors on xdp" \
		"$(cat "$D/c3" "$D/sel.out.err" "$D/sel.report" 2>&1)"
fi

serve mixed 7004 python3 "$PROGS" mixed 7004 7005 50
if A python3 "$PROGS" client "$IPB" 7004 50 >"$D/c4" 2>&1 &&
	A python3 "$PROGS" client "$IPB" 7005 50 tcp >>"$D/c4" 2>&1 &&
	t_wait $T_LAST 10 && served mixed; then
	t_ok "UDP on xdp and TCP on the kernel in one program"
else
	t_fail "UDP on xdp and TCP on the kernel in one program" \
		"$(cat "$D/c4" "$D/mixed.out.err" "$D/mixed.report" 2>&1)"
fi

# two sockets on one interface share its port (match=udp:A+udp:B)
serve two 7016 python3 "$PROGS" two 7016 50
t_udp_ready 7017 "$NSB"
if A python3 "$PROGS" client "$IPB" 7016 50 >"$D/c8" 2>&1 &&
	A python3 "$PROGS" client "$IPB" 7017 50 >>"$D/c8" 2>&1 &&
	t_wait $T_LAST 10 &&
	[ "$(grep -c 'path=xdp .*rx=50 .*tx=50 ' "$D/two.report")" = 2 ]; then
	t_ok "two sockets on one interface, both on xdp"
else
	t_fail "two sockets on one interface, both on xdp" \
		"$(cat "$D/c8" "$D/two.out.err" "$D/two.report" 2>&1)"
fi

# a SO_REUSEPORT group (a socket per thread) shares the flows as the
# kernel's does: both sockets on xdp, each source port at one socket only
serve reuse 7023 python3 "$PROGS" reuse 7023 120
if A python3 "$PROGS" flows "$IPB" 7023 40 3 >"$D/c12" 2>&1 && t_wait $T_LAST 10 &&
	[ "$(grep -c 'udp4 0.0.0.0:7023 path=xdp .*rx=[1-9][0-9]* .*tx=[1-9][0-9]* .*rx_kernel=0 ' "$D/reuse.report")" = 2 ]; then
	t_ok "SO_REUSEPORT: two sockets share the flows, both on xdp ($(cat "$D/c12"))"
else
	t_fail "SO_REUSEPORT: two sockets share the flows, both on xdp" \
		"$(cat "$D/c12" "$D/reuse.out" "$D/reuse.out.err" "$D/reuse.report" 2>&1)"
fi

# a SO_REUSEPORT group across programs: one socket in a plain process,
# one under sluice run. The kernel spreads the flows over both; a port
# would take them all, so the served program's socket stays the kernel's
# (named) and both get flows, as without sluice run
t_bg "$D/rpplain.out" ip netns exec "$NSB" python3 "$PROGS" rpecho 7039 0 8
rpplain=$T_LAST
t_udp_ready 7039 "$NSB"
t_bg "$D/rpx.out" ip netns exec "$NSB" env SLUICE_RUN_REPORT="$D/rpx.report" \
	"$SLUICE" run --path xdp -- python3 "$PROGS" rpecho 7039 1 8
rpx=$T_LAST
for _ in $(seq 50); do
	[ "$(B ss -Hlun "sport = :7039" | grep -c .)" = 2 ] && break
	sleep 0.1
done
sleep 0.3 # the port opens right after bind
A python3 "$PROGS" flows "$IPB" 7039 40 2 >"$D/c39" 2>&1
rc=$?
kill $rpx $rpplain 2>/dev/null # the report comes at SIGTERM too
t_wait $rpx 5
if [ $rc -eq 0 ] &&
	grep -q 'udp4 0.0.0.0:7039 path=kernel .*why="port 7039 is another program.s socket.s too (SO_REUSEPORT or SO_REUSEADDR)' "$D/rpx.report"; then
	t_ok "SO_REUSEPORT with another program: stays the kernel's, both get flows ($(cat "$D/c39"))"
else
	t_fail "SO_REUSEPORT with another program: stays the kernel's, both get flows" \
		"$(cat "$D/c39" "$D/rpx.out.err" "$D/rpx.report" 2>&1)"
fi

# a BPF program on the group: the kernel steers, both sockets go to it;
# the port leaves their datagrams to the kernel and goes on serving the
# program's plain socket on 7027
serve rbpf 7026 python3 "$PROGS" reusebpf 7026 60
if A python3 "$PROGS" flows "$IPB" 7026 20 2 one >"$D/c13" 2>&1 &&
	A python3 "$PROGS" client "$IPB" 7027 20 >>"$D/c13" 2>&1 && t_wait $T_LAST 10 &&
	grep -q 'udp4 0.0.0.0:7027 path=xdp .*rx=20 .*tx=20 ' "$D/rbpf.report" &&
	bfd=$(sed -n 's/.* fd=\([0-9]*\) .*path=kernel .*why="SO_ATTACH_REUSEPORT_CBPF.*/\1/p' "$D/rbpf.report") &&
	[ -n "$bfd" ] &&
	grep -q "path=kernel .*why=\"its SO_REUSEPORT group steers by a BPF program (attached on fd $bfd)" "$D/rbpf.report" &&
	no_xdp; then
	t_ok "SO_REUSEPORT with a BPF program: the group goes to the kernel, a plain socket stays on xdp"
else
	t_fail "SO_REUSEPORT with a BPF program: the group goes to the kernel, a plain socket stays on xdp" \
		"$(cat "$D/c13" "$D/rbpf.out.err" "$D/rbpf.report" 2>&1)"
fi

# several receive queues: the port reads them all. The kernel client's
# 40 flows (a socket each) spread over them: the sender's flow hash picks
# its TX queue and veth hands the frame to the peer's RX queue of that
# number. Every datagram through the port (rx_kernel=0) and more than one
# queue used (the report's queue_rx, each queue's count), for a blocking
# server, an epoll one (asyncio) and one in poll(2); on a 20-queue device
# the port reads queues 0-15 and the kernel socket the others' datagrams
# mq_nonzero REPORT: how many queues of the report received something
mq_nonzero() {
	sed -n 's/.* queue_rx=\([0-9/]*\) .*/\1/p' "$1" | tr / '\n' | grep -c '[1-9]'
}
# mq_serve NAME PORT KIND N: KIND (echo, asyncio, poll) under sluice run --path
# xdp in $MQ-b, answering N datagrams of 40 flows from $MQ-a
mq_serve() {
	local name=$1 port=$2 kind=$3 n=$4
	t_bg "$D/$name.out" ip netns exec "$MQ-b" env \
		SLUICE_RUN_REPORT="$D/$name.report" "$SLUICE" run --path xdp \
		-- python3 "$PROGS" "$kind" "$port" "$n"
	t_udp_ready "$port" "$MQ-b"
	sleep 0.3
	ip netns exec "$MQ-a" python3 "$PROGS" spread "$MQIP" "$port" 40 \
		$((n / 40)) >"$D/$name.c" 2>&1 && t_wait $T_LAST 10
}
if "$ROOT/scripts/testbed.sh" up "$MQ" --queues 4 --json >"$D/mq.json" 2>"$D/mq.err"; then
	MQIP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["b"]["ipv4"])' "$D/mq.json")
	for kind in echo asyncio poll; do
		name=mq-$kind
		if mq_serve "$name" 7030 "$kind" 200 &&
			grep -q 'path=xdp .*rx=200 .*tx=200 .*rx_kernel=0 .*queues=4 queue_rx=' "$D/$name.report" &&
			[ "$(mq_nonzero "$D/$name.report")" -ge 2 ]; then
			t_ok "4 receive queues: $kind server, 40 flows on xdp, $(mq_nonzero "$D/$name.report") queues used"
		else
			t_fail "4 receive queues: $kind server, 40 flows on xdp" \
				"$(cat "$D/$name.c" "$D/$name.out.err" "$D/$name.report" 2>&1)"
		fi
	done
	"$ROOT/scripts/testbed.sh" down "$MQ" >/dev/null 2>&1
else
	t_skip "4 receive queues: echo server" "4-queue bed: $(head -1 "$D/mq.err")"
	t_skip "4 receive queues: asyncio server" "4-queue bed: $(head -1 "$D/mq.err")"
	t_skip "4 receive queues: poll server" "4-queue bed: $(head -1 "$D/mq.err")"
fi
if "$ROOT/scripts/testbed.sh" up "$MQ" --queues 20 --json >"$D/mq.json" 2>"$D/mq.err"; then
	MQIP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["b"]["ipv4"])' "$D/mq.json")
	if mq_serve mq20 7031 echo 200 &&
		rx=$(sed -n 's/.* rx=\([0-9]*\) .*rx_kernel=\([0-9]*\) .*queues=16 dev_queues=20 queue_rx=.*/\1+\2/p' "$D/mq20.report") &&
		[ -n "$rx" ] && [ $((rx)) -eq 200 ]; then
		t_ok "20 receive queues: the port reads 16, the kernel socket the rest ($rx)"
	else
		t_fail "20 receive queues: the port reads 16, the kernel socket the rest" \
			"$(cat "$D/mq20.c" "$D/mq20.out.err" "$D/mq20.report" 2>&1)"
	fi
	"$ROOT/scripts/testbed.sh" down "$MQ" >/dev/null 2>&1
else
	t_skip "20 receive queues" "20-queue bed: $(head -1 "$D/mq.err")"
fi

# SIGTERM to a served program: its lines, with what it served
serve sterm 7025 python3 "$PROGS" echo 7025 1000
A python3 "$PROGS" client "$IPB" 7025 20 >"$D/c14" 2>&1
kill -TERM $T_LAST
wait $T_LAST
rc=$?
if [ $rc -eq 143 ] && grep -q 'path=xdp .*rx=20 .*tx=20 ' "$D/sterm.report"; then
	t_ok "SIGTERM to a served program: its report line, status signal 15"
else
	t_fail "SIGTERM to a served program: its report line, status signal 15" \
		"rc=$rc $(cat "$D/c14" "$D/sterm.out.err" "$D/sterm.report" 2>&1)"
fi

# the semantics programs rely on (run_sem.py: sizes, MSG_PEEK/TRUNC,
# IP_PKTINFO, SO_TIMESTAMP*, IP_TOS/TTL and IPv6's traffic class and hop
# limit both ways, non-blocking, timeouts, SO_RCVTIMEO, connect,
# read/write, sendmsg, dup/dup2, select (and the time it leaves in its
# timeval)/poll with a pipe, two threads,
# fork), first on kernel sockets, then served, against kernel echoes in A
# (IPv4 and IPv6)
t_bg "$D/semecho.out" ip netns exec "$NSA" python3 "$PROGS" tosecho 7018 100000
SEMECHO=$T_LAST
t_bg "$D/semecho6.out" ip netns exec "$NSA" python3 "$PROGS" tosecho6 7028 100000
t_udp_ready 7018 "$NSA"
t_udp_ready 7028 "$NSA"
for p in kernel xdp; do
	B timeout 60 env SLUICE_RUN_REPORT="$D/sem-$p.report" "$SLUICE" run \
		--path $p -- python3 "$(dirname "$PROGS")/run_sem.py" "$IPA" 7018 "$IP6A" 7028 \
		>"$D/sem-$p" 2>&1
	rc=$?
	if [ $p = xdp ]; then
		# served until the fork sent them to the kernel, parent and
		# child; no option (SO_RCVTIMEO_NEW) or recvmmsg's timeout on
		# the way sent one back
		grep -q 'rx=[1-9].*why="fork: shared with a child' "$D/sem-$p.report" || rc=1
		# the IPv6 checks ran on the port too, and the two sockets
		# with IPv4-mapped addresses sent and received through it
		grep -q 'udp6 .* path=xdp .*port_rx=[1-9].* port_tx=[1-9]' "$D/sem-$p.report" || rc=1
		[ "$(grep -cE 'udp6 \[::ffff:[0-9.]+\]:[0-9]+ path=xdp .* rx=2 .* tx=2 .* rx_kernel=0 tx_kernel=0 ' "$D/sem-$p.report")" = 2 ] || rc=1
		grep -qE 'why="(setsockopt|recvmmsg)' "$D/sem-$p.report" && rc=1
		# a served socket bound to another device since goes, named
		grep -q 'path=kernel .*why="SO_BINDTODEVICE: a device other than ' "$D/sem-$p.report" || rc=1
	fi
	if [ $rc -eq 0 ]; then
		t_ok "socket semantics, --path $p ($(grep -c ^ok "$D/sem-$p") checks)"
	else
		t_fail "socket semantics, --path $p" \
			"$(grep -v ^ok "$D/sem-$p"; cat "$D/sem-$p.report")"
	fi
done
kill $SEMECHO $T_LAST 2>/dev/null

serve opt 7006 python3 "$PROGS" option 7006
if A python3 "$PROGS" client "$IPB" 7006 1 >"$D/c5" 2>&1 && t_wait $T_LAST 10 &&
	grep -q 'path=kernel .*why="setsockopt(level 0, option 32)' "$D/opt.report" &&
	no_xdp; then
	t_ok "setsockopt IP_MULTICAST_IF: that socket falls back, named in the report"
else
	t_fail "setsockopt IP_MULTICAST_IF: that socket falls back, named in the report" \
		"$(cat "$D/c5" "$D/opt.out.err" "$D/opt.report" 2>&1)"
fi

# more sockets than the steering program has rules (16): the first 16
# ports are served, the others stay the kernel's with the reason, and all
# 20 answer
serve many 7040 python3 "$PROGS" many 7040 20
if A python3 "$PROGS" manyclient "$IPB" 7040 20 >"$D/c20" 2>&1 && t_wait $T_LAST 10 &&
	[ "$(grep -c 'path=xdp' "$D/many.report")" = 16 ] &&
	[ "$(grep -c 'path=kernel .*why="the xdp port for 17 ports on .*more than 16 rules"' "$D/many.report")" = 4 ]; then
	t_ok "20 sockets: 16 ports served (the steering rules), 4 on the kernel, named; all answer"
else
	t_fail "20 sockets: 16 ports served (the steering rules), 4 on the kernel, named; all answer" \
		"$(cat "$D/c20" "$D/many.out.err" "$D/many.report" 2>&1)"
fi

# cap_start NAME PORT N: tcpdump in A (verbose) of N datagrams to PORT,
# into $D/NAME.cap; returns once it listens, its pid in $cap
cap_start() {
	t_bg "$D/$1.cap" ip netns exec "$NSA" timeout 10 tcpdump -i "$IFA" -n \
		-v -l -c "$3" udp dst port "$2"
	cap=$T_LAST
	for _ in $(seq 50); do
		grep -q listening "$D/$1.cap.err" && break
		sleep 0.1
	done
}

# cap_run NAME PATH PORT COUNT PROG...: PROG under sluice run --path PATH
# in B (report $D/NAME-PATH.report, output $D/NAME.out), tcpdump in A
# taking COUNT datagrams to PORT into $D/NAME-PATH.cap
cap_run() {
	local name=$1 path=$2 port=$3 count=$4
	shift 4
	cap_start "$name-$path" "$port" "$count"
	B env SLUICE_RUN_REPORT="$D/$name-$path.report" "$SLUICE" run \
		--path "$path" -- "$@" >"$D/$name.out" 2>&1
	t_wait $cap 10
}

# cap_verdict NAME TX TITLE: ok when each path's check held ($ok, else
# $why) and both sockets of the xdp run sent TX datagrams, all on the port
cap_verdict() {
	if [ $ok = 1 ] && [ "$(grep -c "path=xdp .*tx=$2 .*tx_kernel=0 " \
		"$D/$1-xdp.report")" = 2 ]; then
		t_ok "$3"
	else
		t_fail "$3" "$why $(cat "$D/$1"-*.cap "$D/$1.out" \
			"$D/$1-xdp.report" 2>&1)"
	fi
}

# IP_MTU_DISCOVER as the kernel has it: datagrams go with DF by default,
# and without it after IP_PMTUDISC_OMIT (what DNS servers set, so that a
# router may fragment an answer), each then with an IP ID of its own.
# tcpdump in A sees the frames the served socket sent (tx_kernel=0).
if command -v tcpdump >/dev/null; then
	cap_start pmtu 7032 4
	B env SLUICE_RUN_REPORT="$D/pmtu.report" "$SLUICE" run --path xdp \
		-- python3 "$PROGS" pmtu "$IPA" 7032 >"$D/pmtu.out" 2>&1
	t_wait $cap 10
	df=$(grep -c 'flags \[DF\].*length 30)' "$D/pmtu.cap")
	ids=$(grep 'flags \[none\].*length 32)' "$D/pmtu.cap" |
		sed 's/.* id \([0-9]*\),.*/\1/' | sort -u | grep -c .)
	if [ "$df" = 2 ] && [ "$ids" = 2 ] &&
		grep -q 'path=xdp .*tx=4 .*tx_kernel=0 ' "$D/pmtu.report"; then
		t_ok "IP_MTU_DISCOVER: DF by default, none after IP_PMTUDISC_OMIT, as the kernel"
	else
		t_fail "IP_MTU_DISCOVER: DF by default, none after IP_PMTUDISC_OMIT, as the kernel" \
			"df=$df ids=$ids $(cat "$D/pmtu.cap" "$D/pmtu.out" "$D/pmtu.report" 2>&1)"
	fi
	# IPv6 flow labels as the kernel's auto_flowlabels sets them: one per
	# flow, on every datagram of it; the kernel's own sockets first
	# (--path kernel), so the check is known to ask what the kernel does
	labels() { # FILE: "flows labelled", e.g. "2 4" for 2 labels on 4
		grep -o 'flowlabel 0x[0-9a-f]*' "$1" | sort | uniq -c |
			awk '$1 == 2 { n++ } { t += $1 } END { print n + 0, t + 0 }'
	}
	ok=1 why=
	for path in kernel xdp; do
		cap_run label $path 7033 4 python3 "$PROGS" label "$IP6A" 7033
		got=$(labels "$D/label-$path.cap")
		[ "$got" = "2 4" ] || { ok=0; why="$why $path: $got"; }
	done
	cap_verdict label 2 "IPv6: a flow label per flow, as the kernel"
	# IPv4 identification as the kernel gives it (DF or not): a
	# connected socket counts its own, one up per datagram; others get
	# distinct ones. The kernel's own sockets first (--path kernel)
	ipids() { # FILE LENGTH: the ids of the datagrams of that IP length
		grep "length $2)" "$1" | sed 's/.* id \([0-9]*\),.*/\1/'
	}
	ok=1 why=
	for path in kernel xdp; do
		# a reader: a port unreachable would fail the connected send
		t_bg "$D/ipidecho.out" ip netns exec "$NSA" python3 "$PROGS" \
			echo 7046 6
		t_udp_ready 7046 "$NSA"
		cap_run ipid $path 7046 6 python3 "$PROGS" ipid "$IPA" 7046
		# connected: "conn" (IP length 32); not: "unconnected" (39)
		c=$(ipids "$D/ipid-$path.cap" 32 | awk 'NR == 1 { f = $1 }
			$1 == 0 || $1 != (f + NR - 1) % 65536 { bad = 1 }
			END { print NR == 3 && !bad }')
		u=$(ipids "$D/ipid-$path.cap" 39 | awk '$1 != 0' | sort -u | grep -c .)
		[ "$c $u" = "1 3" ] || { ok=0; why="$why $path: $c $u"; }
	done
	cap_verdict ipid 3 "IPv4 identification: per connected socket, as the kernel"
else
	t_skip "IP_MTU_DISCOVER: DF by default, none after IP_PMTUDISC_OMIT, as the kernel" \
		"no tcpdump"
	t_skip "IPv6: a flow label per flow, as the kernel" "no tcpdump"
	t_skip "IPv4 identification: per connected socket, as the kernel" \
		"no tcpdump"
fi

# netfilter rules in B: a port would skip them, so the socket stays the
# kernel's (named) and the firewall holds, as without sluice; with
# --firewall bypass the socket is served and the report names the rule
# its datagrams skip; sluice doctor names the rule too
if command -v nft >/dev/null; then
	nft_drop sl-run 7035
	serve fw 7035 python3 "$PROGS" echo 7035 1
	A python3 "$PROGS" client "$IPB" 7035 1 >"$D/c35" 2>&1
	rc=$?
	kill $T_LAST 2>/dev/null
	t_wait $T_LAST 5
	t_bg "$D/fwb.out" ip netns exec "$NSB" env \
		SLUICE_RUN_REPORT="$D/fwb.report" "$SLUICE" run --path xdp \
		--firewall bypass -- python3 "$PROGS" echo 7035 5
	t_udp_ready 7035 "$NSB"
	sleep 0.3
	A python3 "$PROGS" client "$IPB" 7035 5 >>"$D/c35" 2>&1 && t_wait $T_LAST 10
	rc2=$?
	B "$SLUICE" doctor >"$D/doctor" 2>&1
	B nft delete table inet sl-run
	if [ $rc -ne 0 ] && [ $rc2 -eq 0 ] &&
		grep -q 'path=kernel .*why="netfilter has rules a port would skip (nftables inet sl-run chain in (input): 1 rule)' "$D/fw.report" &&
		grep -q 'path=xdp .*rx=5 .*skips="nftables inet sl-run chain in (input): 1 rule"' "$D/fwb.report" &&
		grep -q '^firewall *nftables inet sl-run chain in (input): 1 rule: xdp and packet skip it' "$D/doctor"; then
		t_ok "netfilter rules: the socket stays the kernel's and the rule holds; --firewall bypass serves it, named"
	else
		t_fail "netfilter rules: the socket stays the kernel's and the rule holds; --firewall bypass serves it, named" \
			"rc=$rc rc2=$rc2 $(cat "$D/c35" "$D/fw.report" "$D/fwb.out.err" "$D/fwb.report" 2>&1)"
	fi
else
	t_skip "netfilter rules: the socket stays the kernel's and the rule holds; --firewall bypass serves it, named" \
		"no nft (nftables)"
fi

# rule_late NAME PORT CMD...: CMD served in B is asked once; a rule in B
# then drops UDP to PORT, and 1.5 s later it is asked again; the rule goes
# and it is asked once more. rc1 rc2 rc3: the three clients' statuses
rule_late() {
	local name=$1 port=$2
	shift 2
	serve "$name" "$port" "$@"
	A python3 "$PROGS" client "$IPB" "$port" 1 >"$D/$name.c" 2>&1
	rc1=$?
	nft_drop "sl-$name" "$port"
	sleep 1.5
	A python3 "$PROGS" client "$IPB" "$port" 1 >>"$D/$name.c" 2>&1
	rc2=$?
	B nft delete table inet "sl-$name"
	A python3 "$PROGS" client "$IPB" "$port" 1 >>"$D/$name.c" 2>&1
	rc3=$?
	kill $T_LAST 2>/dev/null
	t_wait $T_LAST 5
}
# rule_held NAME WHY TITLE: the middle one was not answered, as on a
# kernel socket, the others were (the last by the kernel socket), and the
# report says why the socket went to the kernel
rule_held() {
	if [ $rc1 = 0 ] && [ $rc2 != 0 ] && [ $rc3 = 0 ] &&
		grep -qF "why=\"$2" "$D/$1.report" &&
		grep -q "path=kernel .*rx=1 .*why=" "$D/$1.report"; then
		t_ok "$3"
	else
		t_fail "$3" "rc=$rc1/$rc2/$rc3 $(cat "$D/$1.c" "$D/$1.out.err" "$D/$1.report" 2>&1)"
	fi
}

# a netfilter rule added while a socket is served (an administrator
# blocking a port): the socket is the kernel's from then on
name="netfilter rule added while served: it holds from then on, named"
if command -v nft >/dev/null; then
	rule_late fwlate 7036 python3 "$PROGS" echo 7036 3
	rule_held fwlate "netfilter rules appeared that a port would skip (nftables inet sl-fwlate chain in (input): 1 rule)" "$name"
else
	t_skip "$name" "no nft (nftables)"
fi

# the same in a server that gave up root after its first answer (as
# chronyd and unbound do): it can no longer read netfilter, but the
# nftables change it was told of sends its socket to the kernel
name="netfilter rule added after the server gave up root: it holds"
if command -v nft >/dev/null; then
	cat >"$D/droproot.py" <<'EOF'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
d, a = s.recvfrom(2048)
s.sendto(d, a)
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
EOF
	rule_late fwroot 7037 python3 "$D/droproot.py" 7037
	rule_held fwroot "nftables changed, and netfilter can no longer be read: " "$name"
else
	t_skip "$name" "no nft (nftables)"
fi

# the XDP link detached under a served socket (--path auto): the socket
# goes to the kernel and every datagram is still answered
RUN_PATH=auto serve det 7019 python3 "$PROGS" echo 7019 60
if A python3 "$PROGS" client "$IPB" 7019 20 >"$D/c9" 2>&1 &&
	B python3 "$(dirname "$PROGS")/xdp_detach.py" "$IFB" >>"$D/c9" 2>&1 &&
	A python3 "$PROGS" client "$IPB" 7019 40 >>"$D/c9" 2>&1 &&
	t_wait $T_LAST 10 &&
	grep -q 'path=kernel .*rx=20 .*why="the port moved to the packet path' "$D/det.report" &&
	[ "$(grep -c . "$D/det.report")" = 1 ]; then
	t_ok "XDP detached in use: the socket goes on on the kernel"
else
	t_fail "XDP detached in use: the socket goes on on the kernel" \
		"$(cat "$D/c9" "$D/det.out.err" "$D/det.report" 2>&1)"
fi

# a port outlives its last socket for 2 s: a program that makes a socket
# per request (a resolver, nginx's upstream sockets) loads and attaches
# the steering program once, not per request (46 ms each on veth). Two
# sockets one after the other, each closed before the next, see the same
# XDP program on the interface; one made 2.5 s after, a new one. Each is
# answered (the kernel echo in A)
cat >"$D/linger.py" <<'EOF'
import json, socket, subprocess, sys, time
host, port, dev = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def prog():
    j = json.loads(subprocess.run(["ip", "-j", "link", "show", "dev", dev],
                                  capture_output=True, text=True).stdout)
    return j[0].get("xdp", {}).get("prog", {}).get("id")
ids = []
for pause in (0, 0, 2.5):
    time.sleep(pause)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.bind(("0.0.0.0", 0))
    s.sendto(b"linger", (host, port))
    ids.append(prog() if s.recv(10) == b"linger" else None)
    s.close()
print(*ids)
EOF
t_bg "$D/lecho.out" ip netns exec "$NSA" python3 "$PROGS" echo 7038 3
t_udp_ready 7038 "$NSA"
ids=$(B env SLUICE_RUN_REPORT="$D/linger.report" "$SLUICE" run --path xdp -- \
	python3 "$D/linger.py" "$IPA" 7038 "$IFB" 2>"$D/linger.err")
read -r id1 id2 id3 <<<"$ids"
t_wait $T_LAST 5
if [ -n "${id3:-}" ] && [ "$id1" != None ] && [ "$id1" = "$id2" ] &&
	[ "$id3" != None ] && [ "$id3" != "$id2" ] &&
	[ "$(grep -c 'path=xdp' "$D/linger.report")" = 3 ]; then
	t_ok "a port outlives its last socket for 2 s, then goes"
else
	t_fail "a port outlives its last socket for 2 s, then goes" \
		"ids=$ids $(cat "$D/linger.err" "$D/linger.report" 2>&1)"
fi

# a lingering port takes nothing and holds no number (no socket of ours
# whose number the program could free by closing every fd, and the port
# then take from whoever got it next); the kernel gets the old number's
# datagrams meanwhile; and a program idle in its event loop (epoll,
# poll, select: 3 s each) gives the interface back 2 s after its last
# socket there, without making another
cat >"$D/idle.py" <<'EOF'
import json, os, select, socket, subprocess, sys
host, port, dev, mine = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def prog(): # no poll of ours in here (one pipe, read): only the waits sweep
    j = json.loads(subprocess.run(["ip", "-j", "link", "show", "dev", dev],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL).stdout)
    return j[0].get("xdp", {}).get("prog", {}).get("id")
for wait in ("epoll", "poll", "select"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.bind(("0.0.0.0", mine))
    s.sendto(b"idle", (host, port))
    ok = s.recv(10) == b"idle"
    s.close()
    udp = subprocess.run(["ss", "-Huanp"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    held = sum(f"pid={os.getpid()}," in l for l in udp.splitlines())
    print(wait, ok, held, prog(), flush=True)
    if wait == "epoll":
        select.epoll().poll(3.0)
    elif wait == "poll":
        select.poll().poll(3000)
    else:
        select.select([], [], [], 3.0)
    print(prog(), flush=True)
EOF
t_bg "$D/iecho.out" ip netns exec "$NSA" python3 "$PROGS" echo 7040 3
t_udp_ready 7040 "$NSA"
t_bg "$D/idle.out" ip netns exec "$NSB" env SLUICE_RUN_REPORT="$D/idle.report" \
	"$SLUICE" run --path xdp -- python3 "$D/idle.py" "$IPA" 7040 "$IFB" 7041
idle=$T_LAST
for i in $(seq 50); do
	grep -q . "$D/idle.out" && break
	sleep 0.1
done
# within the 2 s: a kernel socket gets 7041's datagram
B timeout 5 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.bind(("0.0.0.0", 7041))
print("ready", flush=True)
print(s.recv(64).decode(), flush=True)' >"$D/idle.k" 2>&1 &
kpid=$!
for i in $(seq 30); do
	grep -q ready "$D/idle.k" && break
	sleep 0.1
done
A python3 -c '
import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"to the kernel",
    (sys.argv[1], 7041))' "$IPB"
wait $kpid
t_wait $idle 20
# per wait: "WAIT True 0 ID" (lingering: attached, no socket of ours),
# then "None" (gone during the wait)
if [ "$(awk 'NR % 2 { ok += $2 == "True" && $3 == 0 && $4 != "None" }
	!(NR % 2) { ok += $1 == "None" } END { print NR, ok }' \
	"$D/idle.out")" = "6 6" ] && grep -q "to the kernel" "$D/idle.k"; then
	t_ok "a lingering port takes nothing, and goes while the program waits"
else
	t_fail "a lingering port takes nothing, and goes while the program waits" \
		"$(cat "$D/idle.out" "$D/idle.out.err" "$D/idle.k" "$D/idle.report" 2>&1)"
fi

# a program that closes every fd (os.closerange: close_range) closes its
# own: its served socket leaves as with close(), a new one is served
# again, and the preload's own fds stay open, so that the port closing
# later (its linger over, while the program waits) closes nothing of the
# program's (the pipe it made after, on the numbers the port had);
# closefrom (glibc's, which calls the system call itself) the same
cat >"$D/closer.py" <<'EOF'
import ctypes, os, select, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
def ask(mine, what):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.bind(("0.0.0.0", mine))
    s.sendto(what, (host, port))
    return s, s.recv(10) == what
s, ok1 = ask(7043, b"before")
os.closerange(3, 1 << 20)
r, w = os.pipe()
s2, ok2 = ask(7044, b"after")
s2.close()
select.epoll().poll(3.0)
os.write(w, b"x")
ok3 = os.read(r, 1) == b"x"
s2, ok4 = ask(7044, b"again")
ctypes.CDLL(None).closefrom(3)
s3, ok5 = ask(7045, b"from")
print(ok1, ok2, ok3, ok4, ok5, flush=True)
EOF
t_bg "$D/cecho.out" ip netns exec "$NSA" python3 "$PROGS" echo 7042 4
t_udp_ready 7042 "$NSA"
if B env SLUICE_RUN_REPORT="$D/closer.report" timeout 20 "$SLUICE" run \
	--path xdp -- python3 "$D/closer.py" "$IPA" 7042 >"$D/closer.out" 2>&1 &&
	[ "$(cat "$D/closer.out")" = "True True True True True" ] &&
	[ "$(grep -c 'path=xdp .*rx=1 .*tx=1 ' "$D/closer.report")" = 4 ]; then
	t_ok "closing every fd: the program's own close, ours stay"
else
	t_fail "closing every fd: the program's own close, ours stay" \
		"$(cat "$D/closer.out" "$D/closer.report" 2>&1)"
fi
t_wait $T_LAST 5

# a vfork child (posix_spawn, CPython's subprocess) shares the parent's
# memory until its exec: its close of its copy of a served socket leaves
# the parent's socket served, both exchanges on the port and counted
name="a vfork child's close leaves the parent's socket served"
if [ ! -x "$VFORK_CLOSE" ]; then
	t_skip "$name" "no vfork_close helper given"
else
	t_bg "$D/vecho.out" ip netns exec "$NSA" python3 "$PROGS" echo 7047 2
	t_udp_ready 7047 "$NSA"
	B env SLUICE_RUN_REPORT="$D/vfork.report" timeout 20 "$SLUICE" run \
		--path xdp -- "$VFORK_CLOSE" "$IPA" 7047 >"$D/vfork.out" 2>&1
	grep -q '^ok$' "$D/vfork.out" &&
		grep -q 'path=xdp .*rx=2 .*tx=2 .*rx_kernel=0 tx_kernel=0 ' \
			"$D/vfork.report" && t_ok "$name" ||
		t_fail "$name" "$(cat "$D/vfork.out" "$D/vfork.report" 2>&1)"
fi

# SIGKILL: the steering program goes with the process (BPF link)
serve kill 7008 python3 "$PROGS" echo 7008 1000
if B ip link show "$IFB" | grep -q 'prog/xdp'; then
	kill -KILL $T_LAST
	wait $T_LAST 2>/dev/null
	sleep 0.5
	if no_xdp; then
		t_ok "SIGKILL leaves no XDP program on the interface"
	else
		t_fail "SIGKILL leaves no XDP program on the interface" \
			"$(B ip link show "$IFB")"
	fi
else
	t_fail "SIGKILL leaves no XDP program on the interface" \
		"no XDP program while served: $(cat "$D/kill.out.err")"
fi

# --path kernel: nothing attached, the program still answers
t_bg "$D/k.out" ip netns exec "$NSB" "$SLUICE" run --path kernel --report \
	-- python3 "$PROGS" echo 7009 10
t_udp_ready 7009 "$NSB"
if A python3 "$PROGS" client "$IPB" 7009 10 >"$D/c7" 2>&1 && no_xdp &&
	t_wait $T_LAST 10; then
	t_ok "--path kernel: kernel sockets, nothing attached"
else
	t_fail "--path kernel: kernel sockets, nothing attached" "$(cat "$D/c7")"
fi
if command -v socat >/dev/null; then
	# SLUICE_RUN_FORK=keep: the parent keeps its port after a fork (the
	# children only answer); without it the parent's socket would go to
	# the kernel at the first fork
	SLUICE_RUN_FORK=keep serve socat 7007 socat UDP4-RECVFROM:7007,fork EXEC:cat
	A python3 "$PROGS" client "$IPB" 7007 50 >"$D/c6" 2>&1
	rc=$?
	# socat exits on SIGTERM: its report line comes then
	kill $T_LAST 2>/dev/null
	t_wait $T_LAST 5
	# the parent receives on xdp, each fork child is handed its datagram
	# and answers through its kernel socket
	if [ $rc -eq 0 ] &&
		grep -q 'path=xdp .*port_rx=50 .*forked=50' "$D/socat.report"; then
		t_ok "socat UDP-RECVFROM,fork EXEC:cat under sluice run"
	else
		t_fail "socat UDP-RECVFROM,fork EXEC:cat under sluice run" \
			"$(cat "$D/c6" "$D/socat.out.err" "$D/socat.report" 2>&1)"
	fi
else
	t_skip "socat UDP-RECVFROM under sluice run" "socat not installed"
fi

# sockperf_ok OUT: the client saw every reply
sockperf_ok() { grep -q 'dropped messages = 0;' "$1" && grep -q 'Summary: Latency' "$1"; }
if command -v sockperf >/dev/null; then
	t_bg "$D/sps.out" ip netns exec "$NSB" env SLUICE_RUN_REPORT="$D/sps.report" \
		"$SLUICE" run --path xdp -- sockperf server -i "$IPB" -p 7011
	sleep 1.5
	A timeout 20 sockperf ping-pong -i "$IPB" -p 7011 -t 2 >"$D/spc" 2>&1
	kill -INT $T_LAST 2>/dev/null
	t_wait $T_LAST 5
	if sockperf_ok "$D/spc" && served sps; then
		t_ok "sockperf server under sluice run: every message answered"
	else
		t_fail "sockperf server under sluice run: every message answered" \
			"$(tail -5 "$D/spc"; cat "$D/sps.report")"
	fi
	t_bg "$D/sps2.out" ip netns exec "$NSB" sockperf server -i "$IPB" -p 7012
	sleep 1.5
	A timeout 20 env SLUICE_RUN_REPORT="$D/spc2.report" "$SLUICE" run \
		--path xdp -- sockperf ping-pong -i "$IPB" -p 7012 -t 2 >"$D/spc2" 2>&1
	kill -INT $T_LAST 2>/dev/null
	t_wait $T_LAST 5
	if sockperf_ok "$D/spc2" && served spc2; then
		t_ok "sockperf ping-pong under sluice run: every message answered"
	else
		t_fail "sockperf ping-pong under sluice run: every message answered" \
			"$(tail -5 "$D/spc2"; cat "$D/spc2.report")"
	fi
else
	t_skip "sockperf server under sluice run" "sockperf not installed"
	t_skip "sockperf ping-pong under sluice run" "sockperf not installed"
fi

if command -v iperf >/dev/null; then
	t_bg "$D/ips.out" ip netns exec "$NSB" env SLUICE_RUN_REPORT="$D/ips.report" \
		"$SLUICE" run --path xdp -- iperf -s -u -p 7013
	t_udp_ready 7013 "$NSB"
	sleep 0.3
	A timeout 20 iperf -c "$IPB" -u -p 7013 -b 20M -t 2 >"$D/ipc" 2>&1
	kill $T_LAST 2>/dev/null
	t_wait $T_LAST 5
	if grep -q ' 0/[0-9]* (0%)' "$D/ipc" && grep -q 'path=xdp .*rx=[1-9]' "$D/ips.report"; then
		t_ok "iperf2 -u server under sluice run: no loss"
	else
		t_fail "iperf2 -u server under sluice run: no loss" \
			"$(tail -3 "$D/ipc"; cat "$D/ips.report")"
	fi
	t_bg "$D/ips2.out" ip netns exec "$NSB" iperf -s -u -p 7014
	t_udp_ready 7014 "$NSB"
	A timeout 20 env SLUICE_RUN_REPORT="$D/ipc2.report" "$SLUICE" run \
		--path xdp -- iperf -c "$IPB" -u -p 7014 -b 20M -t 2 >"$D/ipc2" 2>&1
	kill $T_LAST 2>/dev/null
	t_wait $T_LAST 5
	if grep -q ' 0/[0-9]* (0%)' "$D/ipc2" && grep -q 'path=xdp .*tx=[1-9]' "$D/ipc2.report"; then
		t_ok "iperf2 -u client under sluice run: no loss"
	else
		t_fail "iperf2 -u client under sluice run: no loss" \
			"$(tail -3 "$D/ipc2"; cat "$D/ipc2.report")"
	fi
else
	t_skip "iperf2 -u server under sluice run" "iperf not installed"
	t_skip "iperf2 -u client under sluice run" "iperf not installed"
fi

# iperf3 -u, both ends under sluice run: a TCP control connection beside
# the UDP data, and a server whose data socket is its [::] listener
# connected to the client's IPv4 address since (IPv4-mapped addresses):
# every datagram the client sent reaches it, through the port
if command -v iperf3 >/dev/null; then
	t_bg "$D/ip3s.out" ip netns exec "$NSB" env SLUICE_RUN_REPORT="$D/ip3s.report" \
		"$SLUICE" run --path xdp -- iperf3 -s -1 -p 7032
	for i in $(seq 50); do
		B ss -Hltn "sport = :7032" | grep -q . && break
		sleep 0.1
	done
	A timeout 30 env SLUICE_RUN_REPORT="$D/ip3c.report" "$SLUICE" run \
		--path xdp -- iperf3 -c "$IPB" -p 7032 -u -b 20M -t 2 -l 1000 \
		>"$D/ip3c" 2>&1
	t_wait $T_LAST 10
	if grep -qE ' 0/[1-9][0-9]* \(0%\) +receiver' "$D/ip3c" &&
		grep -qE "udp6 \[::ffff:$IPB\]:7032 path=xdp .*rx=[1-9][0-9]{3,} .*unmatched=0 " "$D/ip3s.report" &&
		grep -q 'path=xdp .*tx=[1-9][0-9]\{3,\} ' "$D/ip3c.report"; then
		t_ok "iperf3 -u, server and client under sluice run: every datagram received"
	else
		t_fail "iperf3 -u, server and client under sluice run: every datagram received" \
			"$(tail -4 "$D/ip3c"; cat "$D/ip3s.report" "$D/ip3c.report")"
	fi
else
	t_skip "iperf3 -u, server and client under sluice run" "iperf3 not installed"
fi

if command -v dig >/dev/null; then
	# through a shell that execs it: the environment carries the preload
	serve dns 7015 sh -c "exec python3 '$PROGS' dns 7015 1"
	out=$(A dig @"$IPB" -p 7015 +short +tries=1 +time=3 sluice.test A 2>&1)
	t_wait $T_LAST 5
	if [ "$out" = 10.9.8.7 ] && grep -q 'path=xdp .*rx=1 ' "$D/dns.report"; then
		t_ok "dig against a DNS server under sluice run (sh -c exec)"
	else
		t_fail "dig against a DNS server under sluice run (sh -c exec)" \
			"$out $(cat "$D/dns.report")"
	fi
	# dig itself under it: libuv sends with syscall(__NR_sendmmsg),
	# which the preload serves too (its query on the port, counted)
	t_bg "$D/dnsk.out" ip netns exec "$NSA" python3 "$PROGS" dns 7033 1
	t_udp_ready 7033 "$NSA"
	out=$(B env SLUICE_RUN_REPORT="$D/dig.report" "$SLUICE" run --path xdp -- \
		dig @"$IPA" -p 7033 +short +tries=1 +time=3 sluice.test A 2>&1)
	t_wait $T_LAST 5
	if [ "$out" = 10.9.8.7 ] &&
		grep -q 'udp4 .* path=xdp .* rx=1 .* tx=1 .* tx_kernel=0 .* port_tx=1 ' "$D/dig.report"; then
		t_ok "dig under sluice run: its query (syscall sendmmsg) on the port"
	else
		t_fail "dig under sluice run: its query (syscall sendmmsg) on the port" \
			"$out $(cat "$D/dig.report")"
	fi
else
	t_skip "dig against a DNS server under sluice run" "dig not installed"
	t_skip "dig under sluice run" "dig not installed"
fi
t_done
