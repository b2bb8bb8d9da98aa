#!/usr/bin/env bash
# Real, unmodified UDP proxies and collectors under `sluice run --path xdp`
# (docs/run.md), each in namespace B of a veth test bed, its peers kernel
# sockets in A: nginx's stream module proxying UDP to an echo in A (two
# workers, with and without reuseport), rsyslog's imudp writing what
# logger sends over IPv4 and IPv6 to a file (every message exactly once),
# snmptrapd logging snmptrap's traps (each once).
# Each must behave as without sluice and its report show the sockets it
# can serve served (path=xdp). A program not installed is skipped with the
# reason (scripts/deps.sh installs them). The bed is sl-tp<PID>, removed
# on exit. Prints TAP.
#
#   test_run_proxies.sh PATH/TO/sluice SOURCE_ROOT
set -u
SLUICE=${1:?usage: test_run_proxies.sh PATH/TO/sluice SOURCE_ROOT}
ROOT=${2:?usage: test_run_proxies.sh PATH/TO/sluice SOURCE_ROOT}
. "$(dirname "$0")/lib.sh"
D=$T_DIR
PEER=$(cd "$(dirname "$0")" && pwd)/udp_peer.py
PROGS=$(cd "$(dirname "$0")" && pwd)/run_progs.py
NAMES="nginx-reuseport nginx rsyslogd snmptrapd"
NGX_MOD=/usr/lib/nginx/modules/ngx_stream_module.so

t_bed sl-tp "%s under sluice run" $NAMES
chmod 755 "$D"

# serve NAME PORT CMD...: CMD in B under sluice run --path xdp, report in
# $D/NAME.report; waits for its UDP port
serve() { t_serve "$1" "$2" 0.5 "${@:3}"; } # nginx's workers start late
stop() {
	kill -TERM "$T_LAST" 2>/dev/null
	t_wait "$T_LAST" 10
}
result() {
	if [ "$2" = 1 ]; then
		t_ok "$1"
	else
		t_fail "$1" "$3"
	fi
}

# nginx's stream module as a UDP proxy to a kernel echo in A: the master
# binds the listeners (one per worker with reuseport) and forks two
# workers, which read them (epoll, edge-triggered; without reuseport both
# share each, EPOLLEXCLUSIVE) and send each datagram on a new upstream
# socket connected to the echo. After the fork the listeners are the
# kernel's, named (docs/run.md: a fork shares them); the upstream sockets,
# made in a worker, are served (it runs as root, `user root`: a worker
# that gave up root cannot open a port). Every datagram of 20 flows over
# IPv4 and IPv6 is answered byte for byte, as without sluice.
nginx_proxy() { # NAME PORT REUSEPORT TITLE
	local name=$1 port=$2 rp=$3 out= ok=0 h echo
	cat >"$D/$name.conf" <<EOF
user root;
worker_processes 2;
error_log $D/$name.log info;
pid $D/$name.pid;
load_module $NGX_MOD;
events { worker_connections 256; }
stream {
  server {
    listen $port udp $rp;
    listen [::]:$port udp $rp;
    proxy_pass $IPA:7499;
    proxy_responses 1;
    proxy_timeout 5s;
  }
}
EOF
	t_bg "$D/$name.echo" ip netns exec "$NSA" python3 "$PROGS" echo 7499 80
	echo=$T_LAST
	if serve "$name" "$port" nginx -g 'daemon off; master_process on;' \
		-c "$D/$name.conf" -p "$D"; then
		for h in "$IPB" "$IP6B"; do
			out="$out $(A python3 "$PEER" echo-client "$h" "$port" \
				--count 40 --flows 20 --timeout 3 2>&1 |
				python3 -c 'import json, sys
j = json.load(sys.stdin)
print(j["answered"], j["mismatched"], j["flows_answered"])' 2>&1)"
		done
	fi
	stop
	kill "$echo" 2>/dev/null
	# every datagram answered; the listeners the kernel's with a reason;
	# upstream sockets served, through the port; one that is not (the
	# other worker's port held the interface) says why
	[ "$out" = " 40 0 20 40 0 20" ] &&
		grep -q ":$port path=kernel .*why=\"" "$D/$name.report" &&
		! grep -E ":$port path=" "$D/$name.report" | grep -qv 'path=kernel .*why="' &&
		grep -qE "udp4 $IPB:[0-9]+ path=xdp .* rx=1 .* tx=1 .* rx_kernel=0 tx_kernel=0 " "$D/$name.report" &&
		! grep -E "udp4 $IPB:[0-9]+ path=kernel" "$D/$name.report" | grep -qv 'why="' && ok=1
	result "$4" $ok "$out $(cat "$D/$name.out.err" "$D/$name.log" "$D/$name.report" 2>&1 | tail -40)"
}
for rp in reuseport ""; do
	title="nginx stream UDP proxy${rp:+ ($rp)}, 2 workers: every datagram answered, upstream sockets served"
	if command -v nginx >/dev/null && [ -f "$NGX_MOD" ]; then
		nginx_proxy "nginx${rp:+-$rp}" "$([ -n "$rp" ] && echo 7401 || echo 7402)" "$rp" "$title"
	else
		t_skip "$title" "nginx or its stream module not installed (nginx, libnginx-mod-stream)"
	fi
done

# rsyslogd's imudp on 0.0.0.0 and [::] (recvmmsg, epoll) writes what
# logger sends from A over IPv4 and IPv6 to a file: every message exactly
# once, both sockets served, every datagram through the port
name="rsyslogd imudp: logger's messages over IPv4 and IPv6, each once, served"
if command -v rsyslogd >/dev/null && command -v logger >/dev/null; then
	cat >"$D/rsyslog.conf" <<EOF
global(workDirectory="$D")
module(load="imudp")
input(type="imudp" port="7403")
*.* action(type="omfile" file="$D/msgs.log")
EOF
	n=0
	if serve rsyslogd 7403 rsyslogd -n -f "$D/rsyslog.conf" -i "$D/rsyslog.pid"; then
		for i in $(seq 20); do
			A logger -n "$IPB" -P 7403 -d -t sltest "v4 message $i"
			A logger -n "$IP6B" -P 7403 -d -t sltest "v6 message $i"
		done
		for i in $(seq 50); do # written in its own time
			n=$(grep -c 'sltest.* message ' "$D/msgs.log" 2>/dev/null)
			[ "${n:-0}" -ge 40 ] && break
			sleep 0.1
		done
	fi
	stop
	ok=1
	for f in v4 v6; do
		for i in $(seq 20); do
			[ "$(grep -c "sltest.* $f message $i\$" "$D/msgs.log" 2>/dev/null)" = 1 ] || ok=0
		done
	done
	[ "$(grep -c 'sltest.* message ' "$D/msgs.log" 2>/dev/null)" = 40 ] || ok=0
	grep -qE "udp4 0.0.0.0:7403 path=xdp .* rx=20 .* rx_kernel=0 " "$D/rsyslogd.report" &&
		grep -qE "udp6 \[::\]:7403 path=xdp .* rx=20 .* rx_kernel=0 " "$D/rsyslogd.report" || ok=0
	result "$name" $ok "$(cat "$D/rsyslogd.out.err" "$D/msgs.log" "$D/rsyslogd.report" 2>&1 | tail -30)"
else
	t_skip "$name" "rsyslogd or logger not installed (rsyslog, bsdutils)"
fi

# snmptrapd (net-snmp) logs the traps snmptrap sends from A to B's IPv4
# and IPv6 addresses: each once, both sockets served
name="snmptrapd: traps over IPv4 and IPv6, each logged once, served"
if command -v snmptrapd >/dev/null && command -v snmptrap >/dev/null; then
	mkdir -p "$D/snmp"
	printf 'authCommunity log public\n' >"$D/snmptrapd.conf"
	export SNMP_PERSISTENT_DIR=$D/snmp
	if serve snmptrapd 7404 snmptrapd -f -Lo -C -c "$D/snmptrapd.conf" \
		-p "$D/snmptrapd.pid" "udp:$IPB:7404,udp6:[$IP6B]:7404"; then
		for i in 1 2 3; do
			for h in "$IPB" "udp6:[$IP6B]"; do
				A snmptrap -v2c -c public "$h:7404" '' \
					.1.3.6.1.4.1.8072.2.3.0.1 \
					.1.3.6.1.4.1.8072.2.3.2.1 s "trap $h $i"
			done
		done
		for i in $(seq 30); do
			[ "$(grep -c '"trap ' "$D/snmptrapd.out")" -ge 6 ] && break
			sleep 0.1
		done
	fi
	stop
	unset SNMP_PERSISTENT_DIR
	ok=1
	for i in 1 2 3; do
		for h in "$IPB" "udp6:\[$IP6B\]"; do
			[ "$(grep -c "\"trap $h $i\"" "$D/snmptrapd.out")" = 1 ] || ok=0
		done
	done
	grep -qE "udp4 $IPB:7404 path=xdp .* rx=3 .* rx_kernel=0 " "$D/snmptrapd.report" &&
		grep -qE "udp6 \[$IP6B\]:7404 path=xdp .* rx=3 .* rx_kernel=0 " "$D/snmptrapd.report" || ok=0
	result "$name" $ok "$(cat "$D/snmptrapd.out" "$D/snmptrapd.report" 2>&1 | grep -v 'Cannot find module' | tail -30)"
else
	t_skip "$name" "snmptrapd or snmptrap not installed (snmptrapd, snmp)"
fi
t_done
