#!/usr/bin/env bash
# `sluice run` with more real, unmodified programs (docs/run.md, "Tested"),
# each against its own kind run on kernel sockets: sipp (a uas under it
# answers a uac in the other namespace, and the reverse, every call
# successful), Node.js dgram (an echo on [::] with ipv6Only false for
# IPv4 and IPv6 clients also under it, and a cluster whose workers share
# the primary's socket), ncat -u -l --exec and its client, openvpn in UDP
# mode (ping and a TCP transfer through the tunnel), coturn's turnserver
# relaying turnutils_uclient's allocations to a peer. Also: a program
# under the preload starts a thread with a 32 KiB stack (Node.js does).
# Each program missing is skipped with the reason. The bed is
# sl-tc<PID>, removed on exit. Prints TAP.
#
#   test_run_clients.sh PATH/TO/sluice SOURCE_ROOT
set -u
SLUICE=${1:?usage: test_run_clients.sh PATH/TO/sluice SOURCE_ROOT}
ROOT=${2:?usage: test_run_clients.sh PATH/TO/sluice SOURCE_ROOT}
. "$(dirname "$0")/lib.sh"
D=$T_DIR
N=8

# the preload's static TLS is in every thread's stack: a small one (Node.js
# starts its inspector thread with 32 KiB) must still start
out=$("$SLUICE" run -- python3 -c '
import threading
threading.stack_size(32768)
t = threading.Thread(target=lambda: print("ran"))
t.start()
t.join()' 2>&1)
[ "$out" = ran ] && t_ok "run: a thread with a 32 KiB stack starts" ||
	t_fail "run: a thread with a 32 KiB stack starts" "$out"

t_bed sl-tc "run clients %s" $(seq $((N - 1)))
# run NS NAME CMD...: CMD under sluice run --path xdp in NS, report in
# $D/NAME.report
run() {
	local ns=$1 name=$2
	shift 2
	ip netns exec "$ns" env SLUICE_RUN_REPORT="$D/$name.report" \
		"$SLUICE" run --path xdp -- "$@"
}
# run_bg OUT NS NAME CMD...: the same in the background, output to OUT;
# sets T_LAST to its pid (the program's: ip netns exec, env and sluice
# run exec it)
run_bg() {
	local out=$1 ns=$2 name=$3
	shift 3
	ip netns exec "$ns" env SLUICE_RUN_REPORT="$D/$name.report" \
		"$SLUICE" run --path xdp -- "$@" >"$out" 2>&1 </dev/null &
	T_LAST=$!
	T_PIDS="$T_PIDS $T_LAST"
}
# stop PID: SIGTERM, then wait for it (its report lines are written then)
stop() {
	kill -TERM "$1" 2>/dev/null
	t_wait "$1" 5 >/dev/null 2>&1
}

# sipp: its SIP socket joins its epoll set before the bind; 200 calls,
# each INVITE, ACK and BYE through the port of the side under sluice run
sipp_calls() { # SERVER_NS SERVER_IP CLIENT_NS CLIENT_IP NAME WHO
	local sns=$1 sip=$2 cns=$3 cip=$4 name=$5 who=$6 pid
	if [ "$who" = uas ]; then
		run_bg "$D/$name.uas" "$sns" "$name" sipp -sn uas -i "$sip" \
			-p 5060 -nostdin
	else
		t_bg "$D/$name.uas" ip netns exec "$sns" sipp -sn uas -i "$sip" \
			-p 5060 -nostdin
	fi
	pid=$T_LAST
	t_udp_ready 5060 "$sns"
	sleep 0.3 # the port opens right after bind
	if [ "$who" = uac ]; then
		run "$cns" "$name" sipp -sn uac "$sip:5060" -i "$cip" -m 200 \
			-r 200 -timeout 20 -nostdin </dev/null >"$D/$name.uac" 2>&1
	else
		ip netns exec "$cns" sipp -sn uac "$sip:5060" -i "$cip" -m 200 \
			-r 200 -timeout 20 -nostdin </dev/null >"$D/$name.uac" 2>&1
	fi
	local rc=$?
	kill -INT $pid 2>/dev/null
	t_wait $pid 5 >/dev/null 2>&1
	[ $rc -eq 0 ] &&
		grep -aq 'Successful call *| *0 *| *200 ' "$D/$name.uac" &&
		grep -aq 'Failed call *| *0 *| *0 ' "$D/$name.uac" &&
		grep -Eq "udp4 $([ "$who" = uas ] && echo "$sip" || echo "$cip"):5060 path=xdp .*rx=[1-9][0-9]{2,} .*tx=[1-9][0-9]{2,} .*tx_kernel=0 " \
			"$D/$name.report"
}
if ! command -v sipp >/dev/null; then
	t_skip "sipp uas under sluice run: 200 calls" "sipp not installed (sip-tester)"
	t_skip "sipp uac under sluice run: 200 calls" "sipp not installed (sip-tester)"
else
	for who in uas uac; do
		if sipp_calls "$NSB" "$IPB" "$NSA" "$IPA" "sipp-$who" $who; then
			t_ok "sipp $who under sluice run: 200 calls, all successful, on xdp"
		else
			t_fail "sipp $who under sluice run: 200 calls, all successful, on xdp" \
				"$(grep -a 'call' "$D/sipp-$who.uac" | tail -4; tail -3 "$D/sipp-$who.uas"; cat "$D/sipp-$who.report" 2>&1)"
		fi
	done
fi

# Node.js dgram: an echo on [::] with ipv6Only false, clients (IPv4 and
# IPv6) under sluice run too; then a cluster of 3 workers reading the
# socket their primary bound and sent them (SCM_RIGHTS): it goes to the
# kernel, named, and every datagram is answered
cat >"$D/echo.js" <<'EOF'
const dgram = require('dgram'), cluster = require('cluster');
const [port, workers] = process.argv.slice(2);
if (workers && cluster.isPrimary) {
	let up = 0;
	for (let i = 0; i < +workers; i++)
		cluster.fork().on('message', () => { if (++up == +workers) console.log('ready'); });
	process.on('SIGTERM', () => { for (const id in cluster.workers) cluster.workers[id].kill(); process.exit(0); });
} else {
	const s = dgram.createSocket({ type: 'udp6', ipv6Only: false, reuseAddr: true });
	s.on('message', (m, r) => s.send(m, r.port, r.address));
	s.bind(+port, () => process.send ? process.send('up') : console.log('ready'));
	process.on('SIGTERM', () => process.exit(0));
}
EOF
cat >"$D/client.js" <<'EOF'
const dgram = require('dgram');
const [type, host, port, n] = process.argv.slice(2);
const s = dgram.createSocket(type);
let got = 0, i = 0;
const t = setTimeout(() => { console.log('got', got); process.exit(1); }, 10000);
function next() {
	if (i == +n) { console.log('got', got); clearTimeout(t); s.close(); return; }
	s.send('m' + i++, +port, host);
}
s.on('message', (m) => { got += m.toString() === 'm' + (i - 1); next(); });
next();
EOF
if ! command -v node >/dev/null; then
	t_skip "node dgram under sluice run" "node not installed (nodejs)"
	t_skip "node cluster under sluice run" "node not installed (nodejs)"
else
	run_bg "$D/node.out" "$NSB" node node "$D/echo.js" 7301
	pid=$T_LAST
	t_udp_ready 7301 "$NSB"
	sleep 0.3
	run "$NSA" node4 node "$D/client.js" udp4 "$IPB" 7301 100 >"$D/node.c" 2>&1
	run "$NSA" node6 node "$D/client.js" udp6 "$IP6B" 7301 100 >>"$D/node.c" 2>&1
	stop $pid
	if [ "$(grep -c "^got 100$" "$D/node.c")" = 2 ] && ! grep -q pthread_create "$D/node.out" &&
		grep -q 'udp6 \[::\]:7301 path=xdp .*rx=200 .*tx=200 .*rx_kernel=0 tx_kernel=0 ' "$D/node.report" &&
		grep -q 'udp4 .* path=xdp .*rx=100 .*tx=100 ' "$D/node4.report" &&
		grep -q 'udp6 .* path=xdp .*rx=100 .*tx=100 ' "$D/node6.report"; then
		t_ok "node dgram under sluice run: [::] echo, IPv4 and IPv6 clients, all on xdp"
	else
		t_fail "node dgram under sluice run: [::] echo, IPv4 and IPv6 clients, all on xdp" \
			"$(cat "$D/node.c" "$D/node.out" "$D"/node*.report 2>&1)"
	fi
	run_bg "$D/cluster.out" "$NSB" cluster node "$D/echo.js" 7302 3
	pid=$T_LAST
	for i in $(seq 50); do grep -q ready "$D/cluster.out" && break; sleep 0.1; done
	A python3 - "$IPB" 7302 >"$D/cluster.c" 2>&1 <<'EOF'
import socket, sys
got = 0
for f in range(20):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    for i in range(5):
        s.sendto(b"%d.%d" % (f, i), (sys.argv[1], int(sys.argv[2])))
        try:
            got += s.recv(100) == b"%d.%d" % (f, i)
        except OSError:
            pass
print("got", got)
EOF
	stop $pid
	if grep -q '^got 100$' "$D/cluster.c" && ! grep -q pthread_create "$D/cluster.out" &&
		grep -q 'udp6 \[::\]:7302 path=kernel .*why="its fd was sent in SCM_RIGHTS"' "$D/cluster.report"; then
		t_ok "node cluster under sluice run: workers share the primary's socket (kernel, named)"
	else
		t_fail "node cluster under sluice run: workers share the primary's socket (kernel, named)" \
			"$(cat "$D/cluster.c" "$D/cluster.out" "$D/cluster.report" 2>&1)"
	fi
fi

# ncat -u -l --exec: it peeks at the first datagram, forks the command
# and reads on in the parent; the first line must reach the command
if ! command -v ncat >/dev/null; then
	t_skip "ncat -u -l --exec under sluice run" "ncat not installed"
else
	run_bg "$D/ncat.out" "$NSB" ncat ncat -u -l "$IPB" 7303 --exec /bin/cat
	pid=$T_LAST
	t_udp_ready 7303 "$NSB"
	sleep 0.3
	(for i in 1 2 3; do echo "line $i"; sleep 0.2; done; sleep 0.5) |
		run "$NSA" ncatc timeout 5 ncat -u "$IPB" 7303 >"$D/ncat.c" 2>&1
	stop $pid
	if [ "$(cat "$D/ncat.c")" = "$(printf 'line 1\nline 2\nline 3')" ] &&
		grep -q 'udp4 .* path=xdp .*rx=3 .*tx=3 ' "$D/ncatc.report"; then
		t_ok "ncat -u -l --exec cat and ncat -u under sluice run: every line back"
	else
		t_fail "ncat -u -l --exec cat and ncat -u under sluice run: every line back" \
			"$(cat "$D/ncat.c" "$D/ncat.out" "$D"/ncat*.report 2>&1)"
	fi
fi

# openvpn (static key) between A and B, B's under sluice run: a ping and
# a TCP transfer through the tunnel, the tunnel's UDP on xdp
if ! command -v openvpn >/dev/null || [ ! -c /dev/net/tun ]; then
	t_skip "openvpn under sluice run" "openvpn or /dev/net/tun missing"
elif ! openvpn --genkey secret "$D/ovpn.key" >"$D/ovpn.gen" 2>&1; then
	t_skip "openvpn under sluice run" "no static key: $(tail -1 "$D/ovpn.gen")"
else
	ov="--dev tun --secret $D/ovpn.key --cipher AES-256-CBC --proto udp --verb 1"
	# shellcheck disable=SC2086
	run_bg "$D/ovpn.b" "$NSB" ovpn openvpn $ov --ifconfig 10.99.0.1 \
		10.99.0.2 --local "$IPB" --lport 7304
	pb=$T_LAST
	# shellcheck disable=SC2086
	t_bg "$D/ovpn.a" ip netns exec "$NSA" openvpn $ov --ifconfig \
		10.99.0.2 10.99.0.1 --remote "$IPB" 7304 --nobind
	pa=$T_LAST
	ip netns exec "$NSB" python3 -c '
import socket, hashlib, time
l = socket.socket()
for i in range(100):  # until the tunnel is up
    try:
        l.bind(("10.99.0.1", 7305)); break
    except OSError:
        time.sleep(0.1)
l.listen(1)
l.settimeout(15)
c, _ = l.accept()
h = hashlib.sha256()
while d := c.recv(65536):
    h.update(d)
c.sendall(h.hexdigest().encode())' >"$D/ovpn.srv" 2>&1 &
	T_PIDS="$T_PIDS $!"
	A python3 -c '
import socket, hashlib, os, time
data = os.urandom(4 << 20)
for i in range(100):
    try:
        c = socket.create_connection(("10.99.0.1", 7305), timeout=1); break
    except OSError:
        time.sleep(0.1)
c.settimeout(15)
c.sendall(data)
c.shutdown(socket.SHUT_WR)
print("tcp", "ok" if c.recv(100).decode() == hashlib.sha256(data).hexdigest() else "bad")' \
		>"$D/ovpn.c" 2>&1
	ping=ok
	if command -v ping >/dev/null; then
		A ping -c 3 -i 0.2 -W 2 10.99.0.1 >"$D/ovpn.ping" 2>&1 || ping=lost
	fi
	stop $pb
	stop $pa
	if [ "$(cat "$D/ovpn.c")" = "tcp ok" ] && [ $ping = ok ] &&
		grep -q "udp4 $IPB:7304 path=xdp .*rx=[1-9][0-9]\{2,\} .*tx=[1-9][0-9]* .*tx_kernel=0 " "$D/ovpn.report"; then
		t_ok "openvpn under sluice run: ping and 4 MiB over TCP through the tunnel"
	else
		t_fail "openvpn under sluice run: ping and 4 MiB over TCP through the tunnel" \
			"$(cat "$D/ovpn.c" "$D/ovpn.ping" "$D/ovpn.srv" "$D/ovpn.b" "$D/ovpn.report" 2>&1 | tail -20)"
	fi
fi

# coturn: turnserver under sluice run relays 4 clients' allocations to
# turnutils_peer in A; its listener and the relay sockets on xdp
if ! command -v turnserver >/dev/null || ! command -v turnutils_uclient >/dev/null; then
	t_skip "turnserver under sluice run" "coturn not installed"
else
	t_bg "$D/peer.out" ip netns exec "$NSA" turnutils_peer -L "$IPA" -p 7306
	run_bg "$D/turn.out" "$NSB" turn turnserver -n --listening-ip "$IPB" \
		--relay-ip "$IPB" --listening-port 7307 --no-tcp --no-tls \
		--no-dtls --no-tcp-relay --lt-cred-mech --user u:p --realm sluice \
		--min-port 50000 --max-port 50100 --no-cli --log-file stdout \
		--simple-log --pidfile "$D/turn.pid" --userdb "$D/turn.db"
	pid=$T_LAST
	t_udp_ready 7307 "$NSB"
	sleep 0.3
	A timeout 20 turnutils_uclient -u u -w p -m 4 -n 20 -l 100 -e "$IPA" \
		-r 7306 -p 7307 "$IPB" >"$D/turn.c" 2>&1
	rc=$?
	stop $pid
	if [ $rc -eq 0 ] && grep -q 'tot_send_msgs=80, tot_recv_msgs=80' "$D/turn.c" &&
		grep -q 'Total lost packets 0 ' "$D/turn.c" &&
		grep -q "udp4 $IPB:7307 path=xdp .*rx=[1-9]" "$D/turn.report" &&
		[ "$(grep -c "udp4 $IPB:50[0-9]* path=xdp .*rx=20 .*tx=20 .*rx_kernel=0 tx_kernel=0 " "$D/turn.report")" = 4 ]; then
		t_ok "turnserver under sluice run: 4 relays to a peer, nothing lost, on xdp"
	else
		t_fail "turnserver under sluice run: 4 relays to a peer, nothing lost, on xdp" \
			"$(grep -E 'tot_|lost' "$D/turn.c"; tail -5 "$D/turn.out"; cat "$D/turn.report" 2>&1)"
	fi
fi
t_done
